/*
 * model.h — the in-memory model and its HDF5 container (docs/formats.md).
 *
 * A model is a kernel kind (how raw scores are computed from features) and
 * a link (how raw scores become output values). The loader validates
 * everything a kernel relies on (shapes, finite weights, names) so kernels
 * never check; a model that fails validation is refused before scoring.
 *
 * Container: one HDF5 file, root attributes
 *   format = "mpiscore-model", format_version = 1,
 *   kind = "linear" | "tree_ensemble" | "mlp",
 *   link = "identity" | "logistic" | "softmax" | "ovr" | "exp",
 *   n_features, feature_names[n_features], output_names[n_outputs],
 *   class_labels[n_classes] (classifiers only), source (e.g. "scikit-learn 1.2.1")
 * and, for kind = linear, datasets /linear/coef (n_raw x n_features) and
 * /linear/intercept (n_raw); for kind = tree_ensemble, root attributes
 * split_rule, missing, aggregate, accumulate and datasets under /trees/; for
 * kind = mlp, root attributes activation, n_layers and datasets
 * /mlp/weight_L, /mlp/bias_L. docs/formats.md has the details.
 */
#ifndef MPISCORE_MODEL_H
#define MPISCORE_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mpiscore/columns.h"
#include "mpiscore/status.h"

#define MS_MODEL_FORMAT "mpiscore-model"
#define MS_MODEL_FORMAT_VERSION 1

typedef enum { MS_KIND_LINEAR = 0, MS_KIND_TREES, MS_KIND_MLP } ms_model_kind;

/* How raw scores become outputs:
 *  identity  out = raw
 *  logistic  n_raw = 1: out = [1 - s, s] for a 2-class classifier, else [s], s = 1/(1+e^-raw)
 *            n_raw > 1: out_k = s(raw_k)
 *  softmax   out = softmax(raw)
 *  ovr       out_k = s(raw_k) / sum_j s(raw_j)  (scikit-learn one-vs-rest probabilities)
 *  exp       out = e^raw (Poisson)
 *  step      out = 1 if raw > 0 else 0 (XGBoost binary:hinge)
 *  expm1     out = e^raw - 1 (TransformedTargetRegressor of log1p)
 *  square    out = raw^2 (TransformedTargetRegressor of sqrt) */
typedef enum {
    MS_LINK_IDENTITY = 0,
    MS_LINK_LOGISTIC,
    MS_LINK_SOFTMAX,
    MS_LINK_OVR,
    MS_LINK_EXP,
    MS_LINK_STEP,
    MS_LINK_EXPM1,
    MS_LINK_SQUARE
} ms_link;

typedef struct ms_linear {
    float *coef;      /* n_raw * n_features, row-major */
    float *intercept; /* n_raw */
    /* float64 models: the container's weights as doubles (the float copies
     * above are what validation checks), NULL for float32 models */
    double *coef64, *intercept64;
} ms_linear;

/* Tree ensembles, as the container stores them (docs/formats.md). Node
 * indices (left, right) are local to their tree; node_offset[t] is tree t's
 * root in the flat arrays. */
typedef enum { MS_SPLIT_LT = 0, MS_SPLIT_LE } ms_split_rule;

/* A categorical split's bitset holds at most this many 32-bit words:
 * categories 0 .. 2^24 - 1, XGBoost's limit (a float holds every such
 * integer exactly). */
#define MS_CAT_MAX_WORDS 524288

typedef struct ms_trees {
    size_t n_trees;
    size_t n_nodes;
    size_t leaf_width;     /* 1 (tree_output says which score), or n_raw */
    int64_t *node_offset;  /* n_trees + 1, node_offset[n_trees] = n_nodes */
    int32_t *feature;      /* n_nodes; -1 marks a leaf */
    double *threshold;     /* n_nodes (leaves: ignored) */
    int32_t *left, *right; /* n_nodes; -1 for leaves */
    uint8_t *missing_left; /* n_nodes: a missing value goes left */
    double *value;         /* n_nodes * leaf_width (splits: ignored) */
    int32_t *tree_output;  /* n_trees (leaf_width 1), else NULL */
    double *base_score;    /* n_raw: raw scores before any tree */
    ms_split_rule split;   /* go left when x < thr (lt) or x <= thr (le) */
    int missing_is_error;  /* missing = "error": a missing value is a bad row */
    int mean;              /* aggregate = "mean": divide by trees per score */
    int float32_sum;       /* accumulate = "float32": leaves summed in float, tree order */
    /* Categorical splits (docs/formats.md; all NULL / 0 in a model without
     * them). is_cat[n] = 1: split n tests the category of x, which is x
     * truncated to an integer c (x >= 0), against its bitset, the words
     * cat_bits[cat_offset[n] .. cat_offset[n+1]): bit c % 32 of word c / 32
     * set means c goes right, clear means left. A value below 0 or past
     * the bitset goes left (cat_other_missing = 0, XGBoost) or where a
     * missing value goes (1, scikit-learn: an unknown category is missing).
     * NaN follows missing_left as on any split. */
    uint8_t *is_cat;     /* n_nodes */
    int64_t *cat_offset; /* n_nodes + 1 */
    uint32_t *cat_bits;  /* n_cat_words */
    size_t n_cat_words;
    int cat_other_missing;
    /* category_cast = "uint8": the category of x >= 0 is first cast as
     * scikit-learn casts it to its 8-bit bin type on x86-64 (the low byte
     * of the int32 truncation; 0 from 2^31 on), so 256 is category 0 */
    int cat_uint8;
    size_t max_depth; /* derived on load: deepest leaf (root = 0) */
    size_t n_leaves;  /* derived on load */
    void *compiled;   /* kernel layout built on load (kernels/trees_*.c) */
} ms_trees;

/* Multi-layer perceptrons: hidden layers use `activation`, the last layer
 * gives the raw scores (the link does the output activation). */
typedef enum { MS_ACT_IDENTITY = 0, MS_ACT_RELU, MS_ACT_TANH, MS_ACT_LOGISTIC } ms_activation;

typedef struct ms_mlp {
    size_t n_layers; /* weight layers, >= 1 */
    size_t *width;   /* n_layers + 1: width[0] = n_features, width[n_layers] = n_raw */
    float **weight;  /* layer l: width[l+1] x width[l], row-major */
    float **bias;    /* layer l: width[l+1] */
    /* float64 models: the same layers as doubles, else NULL */
    double **weight64, **bias64;
    ms_activation activation;
} ms_mlp;

typedef struct ms_model {
    ms_model_kind kind;
    ms_link link;
    size_t n_features;
    char **feature_names;
    size_t n_raw;     /* raw scores per row produced by the kernel */
    size_t n_outputs; /* values per row after the link */
    char **output_names;
    size_t n_classes; /* > 0 for classifiers: a label column is written */
    char **class_labels;
    char *source;
    /* XGBoost's `missing`: inputs equal to it (compared as float, as a
     * DMatrix does) are missing values. Stored as /missing_value. */
    int has_missing_value;
    float missing_value;
    ms_linear linear;
    ms_trees trees;
    ms_mlp mlp;
    /* The precision the library predicts in (columns.h): root attribute
     * `precision` = "float32" | "float64"; containers without it are
     * float32, as every model was before it existed. */
    ms_precision precision;
    /* The preprocessing program (prep.h), run per batch before the kernel,
     * or NULL: then the inputs are the features. */
    struct ms_prep *prep;
    /* What the readers must produce, derived on load: n_inputs columns by
     * name, numbers in `precision` or category codes. Without a program,
     * input k is feature k (numeric). */
    size_t n_inputs;
    ms_colspec *inputs;
    /* Distinct for every model ms_model_load_image returns in this process
     * (0: built otherwise): a model freed and another loaded at the same
     * address are told apart (the endpoint swaps models while serving). */
    uint64_t serial;
} ms_model;

/* Load and validate a container. Errors: MS_EIO (cannot open), MS_EMODEL
 * ("model.h5: not an HDF5 file", "model.h5: attribute n_features = 3 but
 * /linear/coef has 4 columns", "model.h5: /linear/coef[1][2] is NaN", ...). */
ms_status ms_model_load(const char *path, ms_model **out, ms_error *err);

/* A container's first line (in its 512-byte HDF5 user block) seals it:
 * "mpiscore-model-checksum v1 sha256=HEX length=N\n" over the N bytes after
 * the block. ms_model_save and scripts/export_sklearn.py write it. */
#define MS_MODEL_USERBLOCK 512
#define MS_MODEL_SEAL_MAGIC "mpiscore-model-checksum v1 "

/* The whole file in memory (*buf malloc'd): what ms_model_load_image parses,
 * and what rank 0 broadcasts so every rank scores the same bytes. */
ms_status ms_model_read_container(const char *path, unsigned char **buf, size_t *len,
                                  ms_error *err);

/* Load a container image read by ms_model_read_container (path names it in
 * messages). A sealed image is verified before libhdf5 reads a byte
 * ("model.h5: checksum mismatch: the file is damaged", MS_EMODEL); an
 * unsealed one is parsed in a child process first, so a file that crashes
 * or hangs libhdf5 is refused ("model.h5: cannot be read: the file is
 * damaged (libhdf5 crashed reading it); re-export it") instead of taking
 * this process down. MPISCORE_MODEL_CHECK_TIMEOUT (seconds, default 30)
 * bounds the child. */
ms_status ms_model_load_image(const char *path, const unsigned char *buf, size_t len,
                              ms_model **out, ms_error *err);

/* Write a container (used by importers and tests). */
ms_status ms_model_save(const ms_model *m, const char *path, ms_error *err);

/* Validate an in-memory model (what ms_model_load checks after reading). */
ms_status ms_model_validate(const ms_model *m, const char *path, ms_error *err);

void ms_model_free(ms_model *m);

/* Fill what a model derives from its fields (ms_model_load calls it; code
 * building a model in memory calls it after setting them): m->inputs when
 * there is no program, and for float64 models without them the double
 * weights (widened from the float ones). */
ms_status ms_model_derive(ms_model *m, ms_error *err);
void ms_model_free_inputs(ms_model *m);

/* "float32" | "float64" (the container attribute, --precision). */
const char *ms_precision_name(ms_precision p);
int ms_precision_parse(const char *s, ms_precision *out); /* 0, or -1 if unknown */

/* Human-readable summary for `mpiscore model info`. */
void ms_model_describe(const ms_model *m, FILE *f);

/* 1 if rows with missing values (NaN) can be scored: trees that route
 * them, or any model whose preprocessing program imputes every missing
 * value (prep.h); linear models, MLPs and trees with missing = "error"
 * cannot. */
int ms_model_allows_missing(const ms_model *m);

const char *ms_kind_name(ms_model_kind k);
const char *ms_activation_name(ms_activation a);
const char *ms_link_name(ms_link l);

#endif
