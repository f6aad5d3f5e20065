/*
 * scorer.c — load, predict and format one batch (scorer.h).
 */
#include "mpiscore/scorer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ms_scorer {
    const ms_model *m;
    ms_isa isa;
    ms_out_format fmt;
    ms_loader *loader;
    ms_batch batch;
    float *out, *scratch;
    size_t out_rows; /* rows out/scratch can hold */
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

ms_status ms_scorer_create(const ms_model *m, ms_isa isa, const ms_inputs *in, ms_out_format fmt,
                           ms_scorer **out, ms_error *err)
{
    ms_scorer *sc = calloc(1, sizeof *sc);
    if (!sc)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    sc->m = m;
    sc->isa = isa;
    sc->fmt = fmt;
    ms_batch_init(&sc->batch, m->n_features, in->id_dataset != NULL);
    ms_status st = ms_loader_create(in, &sc->loader, err);
    if (st != MS_OK) {
        free(sc);
        return st;
    }
    *out = sc;
    return MS_OK;
}

static ms_status reserve_out(ms_scorer *sc, size_t rows, ms_error *err)
{
    if (rows <= sc->out_rows)
        return MS_OK;
    size_t n = sc->out_rows ? sc->out_rows : 256;
    while (n < rows)
        n *= 2;
    float *o = realloc(sc->out, n * sc->m->n_outputs * sizeof *o);
    if (o)
        sc->out = o;
    float *s = o ? realloc(sc->scratch, ms_predict_scratch_floats(sc->m, n) * sizeof *s) : NULL;
    if (!o || !s)
        return ms_error_set(err, MS_EINTERNAL, "out of memory (output of %zu rows)", n);
    sc->scratch = s;
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

/* The batch's summary, serialized for the coordinator. */
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
        const float *row = sc->out + r * k;
        size_t label = sc->m->n_classes ? ms_predict_label(sc->m, row) : 0;
        st = ms_summary_add_row(sc->summary, row, label, err);
    }
    sc->sum_len = 0;
    if (st == MS_OK)
        st = ms_summary_serialize(sc->summary, &sc->sum_buf, &sc->sum_len, &sc->sum_cap, err);
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
    if (sc->m->has_missing_value) {
        /* XGBoost's `missing`: the sentinel is a missing value, as in a DMatrix */
        float mv = sc->m->missing_value;
        for (size_t i = 0, n = b->n_rows * b->n_features; i < n; i++)
            if (b->x[i] == mv)
                b->x[i] = NAN;
    }
    double t2 = ms_now();
    MS_CHECK(reserve_out(sc, b->n_rows, err));
    ms_predict(sc->m, sc->isa, b->x, b->n_rows, sc->out, sc->scratch);
    double t3 = ms_now();
    /* sc->data held the input bytes; they are parsed now, reuse it for output */
    sc->data_len = 0;
    if (sc->summary_only)
        ; /* the summary is all the output there is */
    else if (sc->fmt == MS_FMT_CSV)
        MS_CHECK(
            ms_format_csv_rows(sc->m, b, sc->out, &sc->data, &sc->data_len, &sc->data_cap, err));
    else
        MS_CHECK(ms_pack_rows(sc->m, b, sc->out, &sc->data, &sc->data_len, &sc->data_cap, err));
    if (sc->summary)
        MS_CHECK(summarize(sc, b, err));
    double t4 = ms_now();

    sc->stats.batches++;
    sc->stats.rows += b->n_rows;
    sc->stats.bad_rows += b->n_bad;
    sc->stats.bytes_in += d->length;
    sc->stats.read_s += t1 - t0;
    sc->stats.parse_s += t2 - t1;
    sc->stats.score_s += t3 - t2;
    sc->stats.format_s += t4 - t3;

    res->seq = d->seq;
    res->n_rows = b->n_rows;
    res->n_bad = b->n_bad;
    res->data = sc->data;
    res->data_len = sc->data_len;
    res->errors = b->errors;
    res->errors_len = b->errors_len;
    res->first_error = b->first_error;
    res->summary = sc->summary ? sc->sum_buf : NULL;
    res->summary_len = sc->summary ? sc->sum_len : 0;
done:
    return st;
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
    free(sc->scratch);
    free(sc->data);
    ms_summary_destroy(sc->summary);
    free(sc->sum_buf);
    free(sc);
}
