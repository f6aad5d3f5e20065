/*
 * kernels.h — scoring kernels with run-time ISA dispatch.
 *
 * One scalar reference per model kind (kernels/NAME_scalar.c), AVX2 and
 * AVX-512 variants beside it in their own files compiled with per-file
 * flags. The variant is chosen once per process from the CPU
 * (__builtin_cpu_supports) unless MPISCORE_ISA=scalar|avx2|avx512 forces one;
 * forcing an ISA the CPU lacks is an error, never a silent fallback.
 * Every variant is tested against the scalar reference.
 */
#ifndef MPISCORE_KERNELS_H
#define MPISCORE_KERNELS_H

#include <stddef.h>

#include "mpiscore/model.h"
#include "mpiscore/status.h"

typedef enum { MS_ISA_SCALAR = 0, MS_ISA_AVX2, MS_ISA_AVX512, MS_ISA_COUNT } ms_isa;

const char *ms_isa_name(ms_isa isa);
/* Best ISA this CPU supports. */
ms_isa ms_isa_best(void);
/* 1 if this CPU can run `isa`. */
int ms_isa_supported(ms_isa isa);
/* The ISA to use: MPISCORE_ISA if set (error if unknown or unsupported:
 * MS_EUSAGE), else ms_isa_best(). */
ms_status ms_isa_select(ms_isa *isa, ms_error *err);

/* Score n_rows rows of x (row-major, m->n_features per row) into
 * out (n_rows * m->n_outputs): raw scores, then the model's link.
 * scratch must hold ms_predict_scratch_floats(m, n_rows) floats.
 * Rows containing NaN give NaN outputs for linear models (the readers refuse
 * missing values for them before this point). */
void ms_predict(const ms_model *m, ms_isa isa, const float *x, size_t n_rows, float *out,
                float *scratch);
size_t ms_predict_scratch_floats(const ms_model *m, size_t n_rows);

/* Index of the predicted class for one row of outputs (argmax, first wins;
 * for a 2-class model with one identity output: out > 0). */
size_t ms_predict_label(const ms_model *m, const float *row_out);

/* Per-kind raw-score kernels: raw is n_rows * m->n_raw. */
typedef void (*ms_linear_fn)(const ms_model *m, const float *x, size_t n_rows, float *raw);
void ms_linear_scalar(const ms_model *m, const float *x, size_t n_rows, float *raw);
void ms_linear_avx2(const ms_model *m, const float *x, size_t n_rows, float *raw);
void ms_linear_avx512(const ms_model *m, const float *x, size_t n_rows, float *raw);

/* Tree ensembles: raw = base_score + the trees' leaves (model.h ms_trees),
 * using the compiled layout built on load. NaN takes the missing branch. */
typedef void (*ms_trees_fn)(const ms_model *m, const float *x, size_t n_rows, float *raw);
void ms_trees_scalar(const ms_model *m, const float *x, size_t n_rows, float *raw);
void ms_trees_avx2(const ms_model *m, const float *x, size_t n_rows, float *raw);
void ms_trees_avx512(const ms_model *m, const float *x, size_t n_rows, float *raw);
/* Models with categorical splits on the SIMD ISAs (the compiled layout has
 * numeric splits only): the reference walk, a block of rows at a time. */
void ms_trees_cat_blocked(const ms_model *m, const float *x, size_t n_rows, float *raw);
/* The same on the quantized layout (kernels/trees_layout.h ms_tree_quant),
 * which the compiler builds for the models it suits: ms_trees_avx2/avx512
 * run these when m->trees.compiled->quant is set. Bit-identical. */
void ms_trees_quant_avx2(const ms_model *m, const float *x, size_t n_rows, float *raw);
void ms_trees_quant_avx512(const ms_model *m, const float *x, size_t n_rows, float *raw);

/* MLPs: work holds ms_mlp_work_floats(m, n_rows) floats for hidden layers. */
typedef void (*ms_mlp_fn)(const ms_model *m, const float *x, size_t n_rows, float *raw,
                          float *work);
size_t ms_mlp_work_floats(const ms_model *m, size_t n_rows);
void ms_mlp_scalar(const ms_model *m, const float *x, size_t n_rows, float *raw, float *work);
void ms_mlp_avx2(const ms_model *m, const float *x, size_t n_rows, float *raw, float *work);
void ms_mlp_avx512(const ms_model *m, const float *x, size_t n_rows, float *raw, float *work);

/* Apply the link in place of raw -> out (both row-major). */
void ms_apply_link(const ms_model *m, const float *raw, size_t n_rows, float *out);

/* float64 models (m->precision == MS_PREC_F64): the same kernels on double
 * inputs, double weights (m->linear.coef64, m->mlp.weight64) and double
 * raw scores, links in double and no rounding to float anywhere, as
 * scikit-learn predicts in float64. Trees compare the double input with the
 * container's double threshold. scratch holds ms_predict64_scratch(m,
 * n_rows) doubles. */
void ms_predict64(const ms_model *m, ms_isa isa, const double *x, size_t n_rows, double *out,
                  double *scratch);
size_t ms_predict64_scratch(const ms_model *m, size_t n_rows);
size_t ms_predict_label64(const ms_model *m, const double *row_out);
void ms_apply_link64(const ms_model *m, const double *raw, size_t n_rows, double *out);

typedef void (*ms_linear64_fn)(const ms_model *m, const double *x, size_t n_rows, double *raw);
void ms_linear64_scalar(const ms_model *m, const double *x, size_t n_rows, double *raw);
void ms_linear64_avx2(const ms_model *m, const double *x, size_t n_rows, double *raw);
void ms_linear64_avx512(const ms_model *m, const double *x, size_t n_rows, double *raw);
/* work: ms_mlp64_work(m) doubles */
typedef void (*ms_mlp64_fn)(const ms_model *m, const double *x, size_t n_rows, double *raw,
                            double *work);
size_t ms_mlp64_work(const ms_model *m);
void ms_mlp64_scalar(const ms_model *m, const double *x, size_t n_rows, double *raw, double *work);
void ms_mlp64_avx2(const ms_model *m, const double *x, size_t n_rows, double *raw, double *work);
/* One scalar walk over the container's arrays for every ISA: exact. */
void ms_trees64_scalar(const ms_model *m, const double *x, size_t n_rows, double *raw);

#endif
