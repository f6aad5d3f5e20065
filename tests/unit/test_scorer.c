/*
 * test_scorer.c — scoring a batch another decoder filled (scorer.h,
 * ms_scorer_score_batch): no loader, cells stored with ms_batch_put_text /
 * put_num, results as doubles (res->out) and formatted rows. A float64
 * linear model gives the double dot product, printed as the shortest
 * float64 text; --precision float32 prints float32 text of the same value;
 * a batch larger than one tile scores every row as a one-row batch would.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mpiscore/scorer.h"

static char *feat[] = {"a", "b"};
static char *outs[] = {"score"};
static float coef[] = {0.1f, 3.0f};
static float icpt[] = {0.0f};
static double coef64[] = {0.1, 3.0};
static double icpt64[] = {0.2};

int main(void)
{
    ms_error err;
    ms_model m;
    memset(&m, 0, sizeof m);
    m.kind = MS_KIND_LINEAR;
    m.link = MS_LINK_IDENTITY;
    m.n_features = 2;
    m.feature_names = feat;
    m.n_raw = m.n_outputs = 1;
    m.output_names = outs;
    m.linear.coef = coef;
    m.linear.intercept = icpt;
    m.linear.coef64 = coef64;
    m.linear.intercept64 = icpt64;
    m.precision = MS_PREC_F64;
    CHECK_FATAL(ms_model_derive(&m, &err) == MS_OK);
    CHECK_FATAL(m.n_inputs == 2 && m.inputs[0].prec == MS_PREC_F64);

    ms_scorer *sc;
    CHECK_FATAL(ms_scorer_create_batch(&m, MS_ISA_SCALAR, MS_FMT_CSV, &sc, &err) == MS_OK);
    ms_batch *b = ms_scorer_batch(sc);
    b->refuse_missing = !ms_model_allows_missing(&m);
    const char *rows[][2] = {{"1", "0.1"}, {"0.3", "x"}, {"2", "1e-3"}};
    for (size_t r = 0; r < 3; r++) {
        CHECK_FATAL(ms_batch_add_row(b, &err) == MS_OK);
        for (size_t c = 0; c < 2; c++) {
            const char *why = ms_batch_put_text(b, c, r, rows[r][c], strlen(rows[r][c]));
            if (why)
                CHECK_FATAL(ms_batch_mark_bad(b, "req", r + 1, c + 1, feat[c], why, "", 0, &err) ==
                            MS_OK);
        }
    }
    ms_scored res;
    CHECK_FATAL(ms_scorer_score_batch(sc, b, &res, &err) == MS_OK);
    CHECK(res.n_rows == 3 && res.n_bad == 1);
    CHECK(res.out[0] == 0.1 * 1 + 3.0 * 0.1 + 0.2);
    CHECK(res.out[2] == 0.1 * 2 + 3.0 * 1e-3 + 0.2);
    CHECK(res.data_len == strlen("0.6000000000000001\n\"\"\n0.403\n") &&
          memcmp(res.data, "0.6000000000000001\n\"\"\n0.403\n", res.data_len) == 0);
    CHECK_STREQ(res.first_error, "req:2:2: not a number");

    ms_scorer_set_precision(sc, MS_PREC_F32);
    CHECK_FATAL(ms_scorer_score_batch(sc, b, &res, &err) == MS_OK);
    CHECK(res.data_len == strlen("0.6\n\"\"\n0.403\n") &&
          memcmp(res.data, "0.6\n\"\"\n0.403\n", res.data_len) == 0);

    /* many tiles: each row as it scores alone */
    ms_batch_reset(b);
    size_t n = 20000;
    for (size_t r = 0; r < n; r++) {
        CHECK_FATAL(ms_batch_add_row(b, &err) == MS_OK);
        CHECK(ms_batch_put_num(b, 0, r, (double)r / 7) == NULL);
        CHECK(ms_batch_put_num(b, 1, r, -(double)r / 3) == NULL);
    }
    CHECK_FATAL(ms_scorer_score_batch(sc, b, &res, &err) == MS_OK);
    size_t off = 0;
    for (size_t r = 0; r < n; r++)
        off += res.out[r] != 0.1 * ((double)r / 7) + 3.0 * (-(double)r / 3) + 0.2;
    CHECK_MSG(off == 0, "%zu of %zu rows differ from the row's own dot product", off, n);
    ms_scorer_destroy(sc);
    ms_model_free_inputs(&m);
    return ms_test_done("test_scorer");
}
