/*
 * test_parquet_input.c — Parquet through the input plan and the loader
 * (input.h, parquet_input.h) without MPI: a file our writer writes (every
 * writer type, nullable), planned for a model with a numeric input, a
 * string categorical input (unknowns refused) and kept columns, then
 * loaded in row ranges: values, missing cells, codes, kept texts and
 * their types, the id, row errors with file/row/column, hive columns,
 * projection (the bytes read are the used chunks only), and refusals.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "mpiscore/input.h"
#include "mpiscore/parquet.h"
#include "mpiscore/parquet_input.h"

#define N 10

static char dir[] = "/tmp/ms_test_pqin_XXXXXX";

/* id INT64, x DOUBLE (nulls at 3, 7), f FLOAT, b BOOLEAN (null at 5),
 * s STRING (null at 4; "zz" at 6 is not a category), i INT32. */
static void write_file(const char *path)
{
    ms_pqw_column cols[] = {{"id", MS_PQW_INT64, 0}, {"x", MS_PQW_DOUBLE, 1},
                            {"f", MS_PQW_FLOAT, 0},  {"b", MS_PQW_BOOLEAN, 1},
                            {"s", MS_PQW_STRING, 1}, {"i", MS_PQW_INT32, 0}};
    int64_t id[N];
    double x[N];
    float fl[N];
    uint8_t b[N], xv[N], bv[N], sv[N];
    int32_t iv[N];
    uint64_t off[N + 1];
    char bytes[64];
    const char *cats[] = {"a", "b", "c"};
    off[0] = 0;
    for (int r = 0; r < N; r++) {
        id[r] = 1000 + r;
        x[r] = r * 0.5 - 1;
        fl[r] = (float)r / 4;
        b[r] = (uint8_t)(r % 2);
        iv[r] = -r;
        xv[r] = r != 3 && r != 7;
        bv[r] = r != 5;
        sv[r] = r != 4;
        const char *s = r == 6 ? "zz" : cats[r % 3];
        size_t n = sv[r] ? strlen(s) : 0;
        memcpy(bytes + off[r], s, n);
        off[r + 1] = off[r] + n;
    }
    ms_pqw_data d[] = {{id, NULL, NULL, NULL}, {x, xv, NULL, NULL},    {fl, NULL, NULL, NULL},
                       {b, bv, NULL, NULL},    {NULL, sv, off, bytes}, {iv, NULL, NULL, NULL}};
    ms_pq_writer *w;
    ms_error err;
    CHECK_FATAL(ms_pq_writer_create(path, cols, 6, MS_PQ_SNAPPY, &w, &err) == MS_OK);
    /* two row groups: 6 + 4 rows */
    ms_pqw_data d2[6];
    for (int c = 0; c < 6; c++) {
        d2[c] = d[c];
        size_t el = c == 0 || c == 1 ? 8 : c == 3 ? 1 : 4;
        if (d2[c].values)
            d2[c].values = (const char *)d[c].values + 6 * el;
        if (d2[c].valid)
            d2[c].valid = d[c].valid + 6;
    }
    d2[4].offsets = off + 6;
    CHECK_FATAL(ms_pq_writer_write(w, 6, d, &err) == MS_OK);
    CHECK_FATAL(ms_pq_writer_write(w, 4, d2, &err) == MS_OK);
    CHECK_FATAL(ms_pq_writer_close(w, &err) == MS_OK);
}

/* A tree model taking missing values with inputs x (float32) and s
 * (string categories a, b, c; unknowns refused). */
static ms_model *fake_model(ms_dict **dict)
{
    ms_model *m = calloc(1, sizeof *m);
    ms_colspec *in = calloc(2, sizeof *in);
    ms_error err;
    const char *cats[] = {"a", "b", "c"};
    CHECK_FATAL(m && in && ms_dict_create_str(cats, 3, dict, &err) == MS_OK);
    m->kind = MS_KIND_TREES;
    in[0] = (ms_colspec){.name = "x", .kind = MS_COL_NUM, .prec = MS_PREC_F32};
    in[1] = (ms_colspec){.name = "s", .kind = MS_COL_CAT, .dict = *dict, .unknown_is_error = 1};
    m->n_inputs = 2;
    m->inputs = in;
    return m;
}

static ms_status plan(const char *path, ms_model *m, const char *id, char **keep, size_t nk,
                      ms_inputs **in, ms_error *err)
{
    char *paths[] = {(char *)path};
    ms_input_opts o = {.id_column = id, .keep_columns = keep, .n_keep = nk};
    return ms_inputs_plan(paths, 1, &o, m, in, err);
}

static int text_is(const ms_textcol *t, size_t r, const char *want)
{
    size_t n = t->off[r + 1] - t->off[r];
    return !t->null[r] && n == strlen(want) && !memcmp(t->text + t->off[r], want, n);
}

static void test_plan_and_load(const char *path, ms_model *m)
{
    ms_error err;
    ms_inputs *in = NULL;
    char *keep[] = {"b", "f", "s", "i", "x"};
    CHECK_FATAL(plan(path, m, "id", keep, 5, &in, &err) == MS_OK);
    CHECK(in->n_files == 1 && in->files[0].kind == MS_IN_PARQUET && in->files[0].n_rows == N);
    CHECK(in->total_units == N);
    CHECK(in->id_type == MS_VAL_INT64);
    CHECK(in->keep_type[0] == MS_VAL_BOOL && in->keep_type[1] == MS_VAL_FLOAT &&
          in->keep_type[2] == MS_VAL_TEXT && in->keep_type[3] == MS_VAL_INT64 &&
          in->keep_type[4] == MS_VAL_DOUBLE);
    /* the plan survives packing */
    char *buf;
    size_t len;
    ms_inputs *un;
    CHECK_FATAL(ms_inputs_pack(in, &buf, &len, &err) == MS_OK);
    CHECK_FATAL(ms_inputs_unpack(buf, len, &un, &err) == MS_OK);
    free(buf);
    CHECK(un->keep_type[1] == MS_VAL_FLOAT && un->id_type == MS_VAL_INT64);

    /* descriptors: row ranges within row groups (6 + 4), 4 rows at most */
    ms_source *src;
    ms_desc d[8];
    size_t nd = 0;
    CHECK_FATAL(ms_source_open(un, 4, 1 << 20, &src, &err) == MS_OK);
    while (nd < 8 && ms_source_next(src, &d[nd], &err) == MS_OK)
        nd++;
    ms_source_close(src);
    CHECK_MSG(nd == 3, "%zu descriptors", nd);
    int64_t want_off[] = {0, 4, 6, 10};
    uint64_t want_n[] = {4, 2, 4};
    for (size_t i = 0; i < 3 && nd == 3; i++)
        CHECK(d[i].offset == want_off[i] && d[i].n_rows == want_n[i] && d[i].length == 0 &&
              d[i].next_offset == want_off[i + 1] && d[i].first_line == (uint64_t)want_off[i] + 1);

    ms_loader *ld;
    ms_batch b;
    CHECK_FATAL(ms_loader_create(un, &ld, &err) == MS_OK);
    ms_batch_init(&b, m->n_inputs, m->inputs, 1);
    CHECK_FATAL(ms_batch_set_keep(&b, 5, &err) == MS_OK);
    /* rows 4..5 (second descriptor): s null at 4 is a missing category */
    CHECK_FATAL(ms_loader_load(ld, &d[1], NULL, &b, &err) == MS_OK);
    CHECK(b.n_rows == 2 && b.n_bad == 0);
    CHECK(ms_batch_f32(&b, 0)[0] == 1.0f && ms_batch_f32(&b, 0)[1] == 1.5f);
    CHECK(ms_batch_codes(&b, 1)[0] == MS_CODE_MISSING && ms_batch_codes(&b, 1)[1] == 2);
    CHECK(b.row_line[0] == 5 && b.row_line[1] == 6);
    CHECK(b.id_off[2] == 8 && !memcmp(b.id_text, "10041005", 8));
    /* row 4: b false, s null; row 5: b null, f = 1.25, s = "c", i = -5, x = 1.5 */
    CHECK(text_is(&b.keep[0], 0, "false") && b.keep[2].null[0]);
    CHECK(b.keep[0].null[1] && text_is(&b.keep[1], 1, "1.25") && text_is(&b.keep[2], 1, "c") &&
          text_is(&b.keep[3], 1, "-5") && text_is(&b.keep[4], 1, "1.5"));

    /* rows 0..3: x null at 3 is missing (the model takes missing values) */
    CHECK_FATAL(ms_loader_load(ld, &d[0], NULL, &b, &err) == MS_OK);
    CHECK(b.n_rows == 4 && b.n_bad == 0);
    CHECK(isnan(ms_batch_f32(&b, 0)[3]) && ms_batch_f32(&b, 0)[0] == -1.0f);
    CHECK(ms_batch_codes(&b, 1)[0] == 0 && ms_batch_codes(&b, 1)[1] == 1 &&
          ms_batch_codes(&b, 1)[2] == 2);
    CHECK(text_is(&b.keep[0], 1, "true") && text_is(&b.keep[4], 0, "-1") && b.keep[4].null[3]);

    /* rows 6..9 (the second row group): "zz" at row 6 is not a category */
    CHECK_FATAL(ms_loader_load(ld, &d[2], NULL, &b, &err) == MS_OK);
    CHECK(b.n_rows == 4 && b.n_bad == 1 && b.bad[0] && !b.bad[1]);
    CHECK(isnan(ms_batch_f32(&b, 0)[1])); /* row 7: null x */
    CHECK(text_is(&b.keep[2], 0, "zz") && text_is(&b.keep[3], 3, "-9"));
    CHECK_MSG(
        !strncmp(b.first_error, path, strlen(path)) &&
            !strcmp(b.first_error + strlen(path), ":7:5: unknown category \"zz\" in column \"s\""),
        "%s", b.first_error);
    CHECK_MSG(b.errors && strstr(b.errors, ",7,s,\"unknown category \"\"zz\"\" in column "
                                           "\"\"s\"\"\",\"2,zz\"\n") != NULL,
              "%.*s", (int)b.errors_len, b.errors);
    ms_batch_free(&b);
    ms_loader_destroy(ld);

    /* resume: seek to row 8 of the file */
    CHECK_FATAL(ms_source_open(un, 100, 1 << 20, &src, &err) == MS_OK);
    CHECK(ms_source_seek(src, 0, 8, 9, 5, &err) == MS_OK);
    CHECK(ms_source_next(src, &d[0], &err) == MS_OK && d[0].offset == 8 && d[0].n_rows == 2 &&
          d[0].seq == 5);
    CHECK(ms_source_next(src, &d[0], &err) == MS_EOF);
    CHECK(ms_source_seek(src, 0, 11, 12, 5, &err) == MS_EINPUT);
    ms_source_close(src);
    ms_inputs_free(un);
    ms_inputs_free(in);
}

/* Only the mapped columns' chunks are read. */
static void test_projection(const char *path, ms_model *m)
{
    ms_error err;
    ms_inputs *in;
    CHECK_FATAL(plan(path, m, NULL, NULL, 0, &in, &err) == MS_OK);
    ms_pq_input *r;
    CHECK_FATAL(ms_pq_input_open(in, 0, &r, &err) == MS_OK);
    ms_batch b;
    ms_batch_init(&b, m->n_inputs, m->inputs, 0);
    CHECK(ms_pq_input_read(r, 0, 6, &b, &err) == MS_OK && b.n_rows == 6);
    ms_pq_file *pq;
    CHECK_FATAL(ms_pq_open(path, &pq, &err) == MS_OK);
    uint64_t off, lx, ls;
    ms_pq_chunk_range(pq, 0, 1, &off, &lx);
    ms_pq_chunk_range(pq, 0, 4, &off, &ls);
    CHECK_MSG(ms_pq_input_bytes_read(r) == lx + ls, "%llu bytes read, chunks x + s = %llu",
              (unsigned long long)ms_pq_input_bytes_read(r), (unsigned long long)(lx + ls));
    ms_pq_close(pq);
    ms_batch_free(&b);
    ms_pq_input_close(r);
    ms_inputs_free(in);
}

/* Hive folders: key=value in the path is a column; a model input here. */
static void test_hive(const char *file)
{
    char sub[256], path[300], cmd[700];
    snprintf(sub, sizeof sub, "%s/x=2.5", dir);
    mkdir(sub, 0755);
    snprintf(path, sizeof path, "%s/part-0.parquet", sub);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", file, path);
    CHECK_FATAL(system(cmd) == 0);
    /* the file has a column x too: the key is refused */
    ms_dict *dict;
    ms_model *m = fake_model(&dict);
    ms_error err;
    ms_inputs *in = NULL;
    CHECK(plan(dir, m, NULL, NULL, 0, &in, &err) == MS_EINPUT);
    CHECK_MSG(strstr(err.msg, "hive folder key \"x\" is given twice") != NULL, "%s", err.msg);
    /* a key of its own feeds the model's input */
    char sub2[256], path2[300];
    snprintf(sub2, sizeof sub2, "%s/k=7", dir);
    mkdir(sub2, 0755);
    snprintf(path2, sizeof path2, "%s/part-0.parquet", sub2);
    CHECK_FATAL(rename(path, path2) == 0);
    rmdir(sub);
    m->inputs[0].name = "k";
    /* as the id, then as a kept column */
    CHECK_FATAL(plan(dir, m, "k", NULL, 0, &in, &err) == MS_OK);
    CHECK(in->n_files == 1 && in->id_type == MS_VAL_INT64);
    ms_loader *ld;
    ms_batch b;
    CHECK_FATAL(ms_loader_create(in, &ld, &err) == MS_OK);
    ms_batch_init(&b, m->n_inputs, m->inputs, 1);
    ms_desc d = {.offset = 0, .n_rows = 3, .first_line = 1};
    CHECK_FATAL(ms_loader_load(ld, &d, NULL, &b, &err) == MS_OK);
    CHECK(b.n_rows == 3 && ms_batch_f32(&b, 0)[2] == 7.0f && b.id_len == 3 &&
          !memcmp(b.id_text, "777", 3));
    ms_batch_free(&b);
    ms_loader_destroy(ld);
    ms_inputs_free(in);
    char *keep[] = {"k"};
    CHECK_FATAL(plan(dir, m, NULL, keep, 1, &in, &err) == MS_OK);
    CHECK(in->keep_type[0] == MS_VAL_INT64);
    CHECK_FATAL(ms_loader_create(in, &ld, &err) == MS_OK);
    ms_batch_init(&b, m->n_inputs, m->inputs, 0);
    CHECK_FATAL(ms_batch_set_keep(&b, 1, &err) == MS_OK);
    CHECK_FATAL(ms_loader_load(ld, &d, NULL, &b, &err) == MS_OK);
    CHECK(b.n_rows == 3 && text_is(&b.keep[0], 1, "7"));
    ms_batch_free(&b);
    ms_loader_destroy(ld);
    ms_inputs_free(in);
    m->inputs[0].name = "x";
    unlink(path2);
    rmdir(sub2);
    free(m->inputs);
    free(m);
    ms_dict_free(dict);
}

static void test_refusals(const char *path, ms_model *m)
{
    ms_error err;
    ms_inputs *in = NULL;
    char want[512];
    /* a string column for a number */
    m->inputs[0].name = "s";
    m->inputs[1].name = "x";
    CHECK(plan(path, m, NULL, NULL, 0, &in, &err) == MS_EINPUT);
    snprintf(want, sizeof want,
             "%s: column \"x\": the model's categories are strings, the column "
             "holds numbers",
             path);
    CHECK_MSG(!strcmp(err.msg, want), "%s", err.msg);
    m->inputs[1].name = "s";
    m->inputs[0].name = "s2";
    CHECK(plan(path, m, NULL, NULL, 0, &in, &err) == MS_EINPUT);
    snprintf(want, sizeof want,
             "%s: column \"s2\" required by the model is missing from the schema", path);
    CHECK_MSG(!strcmp(err.msg, want), "%s", err.msg);
    m->inputs[0].name = "x";
    char *keep[] = {"nope"};
    CHECK(plan(path, m, NULL, keep, 1, &in, &err) == MS_EINPUT);
    snprintf(want, sizeof want, "%s: column \"nope\" (--keep-columns) is not in the schema", path);
    CHECK_MSG(!strcmp(err.msg, want), "%s", err.msg);
}

int main(void)
{
    CHECK_FATAL(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/t.parquet", dir);
    write_file(path);
    ms_dict *dict;
    ms_model *m = fake_model(&dict);
    test_plan_and_load(path, m);
    test_projection(path, m);
    test_refusals(path, m);
    free(m->inputs);
    free(m);
    ms_dict_free(dict);
    char moved[300];
    snprintf(moved, sizeof moved, "%s.parquet", dir);
    CHECK_FATAL(rename(path, moved) == 0);
    test_hive(moved);
    unlink(moved);
    rmdir(dir);
    if (ms_test_failures)
        fprintf(stderr, "%d check(s) failed\n", ms_test_failures);
    return ms_test_failures != 0;
}
