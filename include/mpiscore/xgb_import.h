/*
 * xgb_import.h — XGBoost JSON models (what Booster.save_model("m.json")
 * writes) turned into mpiscore tree ensembles (docs/formats.md, "XGBoost
 * mapping").
 *
 * The result scores exactly as XGBoost's CPU predictor does: splits go left
 * when x < threshold (float32), a missing value takes the node's default
 * direction, and leaves are added in tree order into a float32 accumulator
 * that starts at the objective's base margin (base_score through
 * ProbToMargin, in float as XGBoost computes it). A categorical split
 * (enable_categorical) sends the categories it lists right and every other
 * value left, NaN its default way. Everything the file says
 * is checked before a model is returned: a corrupt tree (child out of
 * range, cycle, split feature >= num_feature, non-finite or non-float32
 * numbers, a category outside 0..2^24-1), an unknown objective or booster is
 * refused with one line naming the file, and the tree and node where
 * relevant. Nothing is printed; the caller writes the model
 * (ms_model_save).
 */
#ifndef MPISCORE_XGB_IMPORT_H
#define MPISCORE_XGB_IMPORT_H

#include <stddef.h>

#include "mpiscore/model.h"
#include "mpiscore/status.h"

/* Largest num_feature and num_class accepted: sanity limits (the importer
 * names every feature and allocates per class). */
#define MS_XGB_MAX_FEATURES (1L << 24)
#define MS_XGB_MAX_CLASSES 65536

typedef struct ms_xgb_options {
    /* Boosting rounds to import, [begin, end); end 0 = through the last
     * round. Without a range, rounds [0, best_iteration + 1) when the file
     * has learner.attributes.best_iteration (as XGBClassifier.predict
     * does), else all. */
    int has_range;
    long long begin, end;
    /* Feature names to use when the model has none (else f0..f{n-1});
     * when the model has names they must be the same. NULL: none given. */
    char *const *feature_names;
    size_t n_feature_names;
    /* The value that stands for missing in the training data (DMatrix's
     * `missing`); without it, the scikit-learn wrapper's `missing` when the
     * file records one, else NaN only. NaN here: NaN only. */
    int has_missing;
    double missing;
    /* A JSON file {"feature": [category, ...], ...}: each listed feature's
     * categories in code order (pandas' df[col].cat.categories), all
     * strings or all numbers. The container then reads those columns as
     * text and scores each cell's code; a value not in the list is a row
     * error. Only features XGBoost marks categorical ("c") may be listed.
     * NULL: every feature is read as a number (a category as its code). */
    const char *categories_path;
} ms_xgb_options;

/* What was imported, for the one-line summary the CLI prints. */
typedef struct ms_xgb_summary {
    char objective[64];      /* learner.objective.name */
    char version[32];        /* "1.7.4", or "" when the file does not say */
    long long rounds;        /* boosting rounds in the file */
    long long begin, end;    /* rounds imported: [begin, end) */
    int used_best_iteration; /* end = best_iteration + 1 came from the file */
    size_t n_trees;          /* trees imported */
    size_t n_features;
} ms_xgb_summary;

/* Import the JSON text json[0..len) (need not be NUL-terminated). `name`
 * names the source in messages ("m.json: ..."). opt and summary may be
 * NULL. On success *out is a validated model, ready to score on any ISA
 * (as ms_model_load leaves one), owned by the caller (ms_model_free).
 * Errors: MS_EMODEL (not JSON, with jansson's line:column; not an XGBoost
 * model; corrupt or unsupported), MS_EUSAGE (options that do not fit the
 * model: an iteration range beyond its rounds, feature names of the wrong
 * count or contradicting the model's), MS_EINTERNAL (out of memory). */
ms_status ms_xgb_import(const char *json, size_t len, const char *name, const ms_xgb_options *opt,
                        ms_model **out, ms_xgb_summary *summary, ms_error *err);

/* ms_xgb_import on a file's contents; an unreadable file is MS_EIO. */
ms_status ms_xgb_import_file(const char *path, const ms_xgb_options *opt, ms_model **out,
                             ms_xgb_summary *summary, ms_error *err);

#endif
