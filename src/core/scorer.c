/*
 * scorer.c — load, predict and format one batch (scorer.h).
 *
 * The batch is columns (batch.h); the estimator wants a dense row-major
 * matrix in the model's precision. It is built a tile of rows at a time
 * (an identity transpose without a program, ms_prep_apply with one) into a
 * buffer that stays in cache, and the kernel runs on the tile. A row's
 * result depends only on that row (kernels.h), so tiling never changes an
 * output. Outputs are double: float32 models' values are their float
 * results widened, float64 models' are the double kernels' own.
 */
#include "mpiscore/scorer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpiscore/prep.h"

/* Bytes of one tile's feature matrix: well inside L2 with the kernel's
 * other data, and at least a few SIMD blocks of rows. */
#define TILE_BYTES (64 << 10)
#define TILE_MIN_ROWS 64
#define TILE_MAX_ROWS 4096

struct ms_scorer {
    const ms_model *m;
    ms_isa isa;
    ms_out_format fmt;
    ms_precision out_prec; /* of the written values (--precision) */
    ms_loader *loader;
    ms_batch batch;
    double *out;   /* out_rows x n_outputs */
    float *outf;   /* the same as float: float32 models' kernel output, the summary's input */
    void *tile;    /* tile_rows x n_features, float or double */
    void *scratch; /* the kernel's, for tile_rows rows */
    size_t tile_rows;
    size_t out_rows; /* rows out/outf can hold */
    char *data;
    size_t data_len, data_cap;
    ms_scorer_stats stats;
    ms_summary *summary; /* per batch, reused; NULL without --summary */
    int summary_only;    /* format no rows */
    char *sum_buf;
    size_t sum_len, sum_cap;
};

double ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

ms_status ms_scorer_create_batch(const ms_model *m, ms_isa isa, ms_out_format fmt, ms_scorer **out,
                                 ms_error *err)
{
    if (!m->inputs)
        return ms_error_set(err, MS_EINTERNAL, "scorer: the model's inputs are not derived");
    ms_scorer *sc = calloc(1, sizeof *sc);
    if (!sc)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    sc->m = m;
    sc->isa = isa;
    sc->fmt = fmt;
    sc->out_prec = m->precision;
    size_t elem = m->precision == MS_PREC_F64 ? sizeof(double) : sizeof(float);
    size_t rows = TILE_BYTES / (elem * (m->n_features ? m->n_features : 1));
    sc->tile_rows = rows < TILE_MIN_ROWS   ? TILE_MIN_ROWS
                    : rows > TILE_MAX_ROWS ? TILE_MAX_ROWS
                                           : rows;
    size_t scratch = m->precision == MS_PREC_F64
                         ? ms_predict64_scratch(m, sc->tile_rows) * sizeof(double)
                         : ms_predict_scratch_floats(m, sc->tile_rows) * sizeof(float);
    sc->tile = malloc(sc->tile_rows * (m->n_features ? m->n_features : 1) * elem);
    sc->scratch = malloc(scratch ? scratch : 1);
    if (!sc->tile || !sc->scratch) {
        ms_scorer_destroy(sc);
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    }
    ms_batch_init(&sc->batch, m->n_inputs, m->inputs, 0);
    *out = sc;
    return MS_OK;
}

ms_status ms_scorer_create(const ms_model *m, ms_isa isa, const ms_inputs *in, ms_out_format fmt,
                           ms_scorer **out, ms_error *err)
{
    ms_scorer *sc;
    ms_status st = ms_scorer_create_batch(m, isa, fmt, &sc, err);
    if (st != MS_OK)
        return st;
    ms_batch_init(&sc->batch, m->n_inputs, m->inputs, in->id_dataset != NULL);
    st = ms_batch_set_keep(&sc->batch, in->n_keep, err);
    if (st == MS_OK)
        st = ms_loader_create(in, &sc->loader, err);
    if (st != MS_OK) {
        ms_scorer_destroy(sc);
        return st;
    }
    *out = sc;
    return MS_OK;
}

void ms_scorer_set_precision(ms_scorer *sc, ms_precision prec)
{
    sc->out_prec = prec;
}

static ms_status reserve_out(ms_scorer *sc, size_t rows, ms_error *err)
{
    if (rows <= sc->out_rows)
        return MS_OK;
    size_t n = sc->out_rows ? sc->out_rows : 256;
    while (n < rows)
        n *= 2;
    size_t k = sc->m->n_outputs ? sc->m->n_outputs : 1;
    double *o = realloc(sc->out, n * k * sizeof *o);
    if (o)
        sc->out = o;
    float *f = o ? realloc(sc->outf, n * k * sizeof *f) : NULL;
    if (!o || !f)
        return ms_error_set(err, MS_EINTERNAL, "out of memory (output of %zu rows)", n);
    sc->outf = f;
    sc->out_rows = n;
    return MS_OK;
}

ms_status ms_scorer_new_summary(const ms_scorer *sc, ms_summary **out, ms_error *err)
{
    const ms_model *m = sc->m;
    /* these links put every output in [0, 1]: exact fixed histogram bins */
    int prob = m->link == MS_LINK_LOGISTIC || m->link == MS_LINK_SOFTMAX || m->link == MS_LINK_OVR;
    return ms_summary_create(m->n_outputs, m->output_names, prob, m->n_classes, m->class_labels,
                             out, err);
}

ms_status ms_scorer_enable_summary(ms_scorer *sc, int only, ms_error *err)
{
    sc->summary_only = only;
    return sc->summary ? MS_OK : ms_scorer_new_summary(sc, &sc->summary, err);
}

/* The batch's summary, serialized for the coordinator. Its sums are exact
 * over float32 values (summary.h), so a float64 model's outputs enter it
 * rounded to float; the label is the double outputs'. */
static ms_status summarize(ms_scorer *sc, const ms_batch *b, ms_error *err)
{
    ms_status st = MS_OK;
    size_t k = sc->m->n_outputs;
    ms_summary_reset(sc->summary);
    for (size_t r = 0; r < b->n_rows && st == MS_OK; r++) {
        if (b->bad[r]) {
            ms_summary_add_failed(sc->summary, 1);
            continue;
        }
        size_t label = sc->m->n_classes ? ms_predict_label64(sc->m, sc->out + r * k) : 0;
        st = ms_summary_add_row(sc->summary, sc->outf + r * k, label, err);
    }
    sc->sum_len = 0;
    if (st == MS_OK)
        st = ms_summary_serialize(sc->summary, &sc->sum_buf, &sc->sum_len, &sc->sum_cap, err);
    return st;
}

/* XGBoost's `missing`: a cell equal to the sentinel (compared as float, as
 * a DMatrix does) is a missing value, decided on the columns. */
static void replace_missing_value(const ms_model *m, ms_batch *b)
{
    float mv = m->missing_value;
    for (size_t c = 0; c < b->n_cols; c++) {
        if (b->spec[c].kind != MS_COL_NUM)
            continue;
        if (b->spec[c].prec == MS_PREC_F64) {
            double *v = ms_batch_f64(b, c);
            for (size_t r = 0; r < b->n_rows; r++)
                if ((float)v[r] == mv)
                    v[r] = NAN;
        } else {
            float *v = ms_batch_f32(b, c);
            for (size_t r = 0; r < b->n_rows; r++)
                if (v[r] == mv)
                    v[r] = NAN;
        }
    }
}

/* Rows [r0, r0 + n) of the columns as the estimator's row-major matrix. */
static void build_tile(const ms_model *m, const ms_batch *b, size_t r0, size_t n, void *tile)
{
    if (m->prep) {
        ms_prep_apply(m, (const void *const *)b->col, r0, n, tile);
        return;
    }
    size_t nf = m->n_features;
    if (m->precision == MS_PREC_F64) {
        double *x = tile;
        for (size_t j = 0; j < nf; j++) {
            const double *c = ms_batch_f64(b, j) + r0;
            for (size_t r = 0; r < n; r++)
                x[r * nf + j] = c[r];
        }
    } else {
        float *x = tile;
        for (size_t j = 0; j < nf; j++) {
            const float *c = ms_batch_f32(b, j) + r0;
            for (size_t r = 0; r < n; r++)
                x[r * nf + j] = c[r];
        }
    }
}

/* A program can compute a missing value from present ones (log of a
 * negative number, an unknown category under handle_unknown="ignore" with
 * no all-zero fallback): scikit-learn's estimator would then refuse the
 * whole predict ("Input X contains NaN"). Here the row is refused, named
 * by its line and the feature, and the others are scored. Only for an
 * estimator that takes no missing values; a tree that routes them scores
 * the NaN as sklearn's does. */
static ms_status refuse_nan_rows(const ms_model *m, ms_batch *b, size_t r0, size_t n,
                                 const void *tile, ms_error *err)
{
    size_t nf = m->n_features;
    for (size_t r = 0; r < n; r++) {
        if (b->bad[r0 + r])
            continue;
        size_t j = 0;
        if (m->precision == MS_PREC_F64) {
            const double *x = (const double *)tile + r * nf;
            while (j < nf && isfinite(x[j]))
                j++;
        } else {
            const float *x = (const float *)tile + r * nf;
            while (j < nf && isfinite(x[j]))
                j++;
        }
        if (j == nf)
            continue;
        char name[160], reason[256];
        ms_quote_excerpt(m->feature_names[j], strlen(m->feature_names[j]), 60, name, sizeof name);
        snprintf(reason, sizeof reason,
                 "preprocessing gives a missing or infinite value for feature \"%s\", which the "
                 "estimator cannot score",
                 name);
        ms_status st = ms_batch_mark_bad_row(b, r0 + r, m->feature_names[j], reason, err);
        if (st != MS_OK)
            return st;
    }
    return MS_OK;
}

static ms_status predict_batch(ms_scorer *sc, ms_batch *b, ms_error *err)
{
    const ms_model *m = sc->m;
    size_t k = m->n_outputs;
    int check_nan = m->prep && !(m->kind == MS_KIND_TREES && !m->trees.missing_is_error);
    for (size_t r0 = 0; r0 < b->n_rows; r0 += sc->tile_rows) {
        size_t n = b->n_rows - r0 < sc->tile_rows ? b->n_rows - r0 : sc->tile_rows;
        build_tile(m, b, r0, n, sc->tile);
        if (check_nan) {
            ms_status st = refuse_nan_rows(m, b, r0, n, sc->tile, err);
            if (st != MS_OK)
                return st;
        }
        if (m->precision == MS_PREC_F64) {
            double *o = sc->out + r0 * k;
            ms_predict64(m, sc->isa, sc->tile, n, o, sc->scratch);
            for (size_t i = 0; i < n * k; i++)
                sc->outf[r0 * k + i] = (float)o[i];
        } else {
            float *o = sc->outf + r0 * k;
            ms_predict(m, sc->isa, sc->tile, n, o, sc->scratch);
            for (size_t i = 0; i < n * k; i++)
                sc->out[r0 * k + i] = o[i];
        }
    }
    return MS_OK;
}

ms_status ms_scorer_score_batch(ms_scorer *sc, ms_batch *b, ms_scored *res, ms_error *err)
{
    ms_status st;
    double t2 = ms_now();
    if (sc->m->has_missing_value)
        replace_missing_value(sc->m, b);
    MS_CHECK(reserve_out(sc, b->n_rows, err));
    MS_CHECK(predict_batch(sc, b, err));
    double t3 = ms_now();
    sc->data_len = 0;
    if (sc->summary_only || sc->fmt == MS_FMT_VALUES)
        ; /* the summary, or res->out, is all the output there is */
    else if (sc->fmt == MS_FMT_CSV)
        MS_CHECK(ms_format_csv_rows(sc->m, b, sc->out, sc->out_prec, &sc->data, &sc->data_len,
                                    &sc->data_cap, err));
    else
        MS_CHECK(ms_pack_rows(sc->m, b, sc->out, sc->out_prec, &sc->data, &sc->data_len,
                              &sc->data_cap, err));
    if (sc->summary)
        MS_CHECK(summarize(sc, b, err));
    double t4 = ms_now();

    sc->stats.batches++;
    sc->stats.rows += b->n_rows;
    sc->stats.bad_rows += b->n_bad;
    sc->stats.score_s += t3 - t2;
    sc->stats.format_s += t4 - t3;

    memset(res, 0, sizeof *res);
    res->n_rows = b->n_rows;
    res->n_bad = b->n_bad;
    res->data = sc->data;
    res->data_len = sc->data_len;
    res->errors = b->errors;
    res->errors_len = b->errors_len;
    res->first_error = b->first_error;
    res->summary = sc->summary ? sc->sum_buf : NULL;
    res->summary_len = sc->summary ? sc->sum_len : 0;
    res->out = sc->out;
done:
    return st;
}

ms_status ms_scorer_run(ms_scorer *sc, const ms_desc *d, const char *bytes, ms_scored *res,
                        ms_error *err)
{
    ms_status st;
    ms_batch *b = &sc->batch;
    double t0 = ms_now();
    if (!bytes && sc->loader && d->length) {
        /* read separately from parsing so the stats tell I/O from CPU */
        MS_CHECK(ms_loader_read_bytes(sc->loader, d, &sc->data, &sc->data_cap, err));
        bytes = sc->data;
    }
    double t1 = ms_now();
    MS_CHECK(ms_loader_load(sc->loader, d, bytes, b, err));
    double t2 = ms_now();
    /* sc->data held the input bytes; they are parsed now, and reused for output */
    MS_CHECK(ms_scorer_score_batch(sc, b, res, err));
    sc->stats.bytes_in += d->length;
    sc->stats.read_s += t1 - t0;
    sc->stats.parse_s += t2 - t1;
    res->seq = d->seq;
done:
    return st;
}

ms_batch *ms_scorer_batch(ms_scorer *sc)
{
    return &sc->batch;
}

const ms_scorer_stats *ms_scorer_get_stats(const ms_scorer *sc)
{
    return &sc->stats;
}

ms_loader *ms_scorer_loader(ms_scorer *sc)
{
    return sc->loader;
}

void ms_scorer_destroy(ms_scorer *sc)
{
    if (!sc)
        return;
    ms_loader_destroy(sc->loader);
    ms_batch_free(&sc->batch);
    free(sc->out);
    free(sc->outf);
    free(sc->tile);
    free(sc->scratch);
    free(sc->data);
    ms_summary_destroy(sc->summary);
    free(sc->sum_buf);
    free(sc);
}
