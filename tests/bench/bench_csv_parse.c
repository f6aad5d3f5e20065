/*
 * bench_csv_parse.c — CSV parse speed alone (csv_reader.h), no MPI, no
 * output: the file is read into memory, cut into chunks by the scanner as
 * a run cuts it, and every chunk is parsed into a batch, --repeat times.
 *
 *   bench_csv_parse FILE.csv [--prec f32|f64] [--id COLUMN] [--rows N] [--repeat R]
 *
 * Every column but the id column is a numeric feature in the given
 * precision. Prints one JSON line: bytes, fields, the best parse seconds,
 * MB/s and ns per field, and a checksum of the parsed values (so the work
 * cannot be optimised away and two builds can be compared). The ISA of the
 * splitter follows MPISCORE_ISA as the kernels' does. scripts/bench.py
 * runs it; timings never go in a pass/fail test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpiscore/batch.h"
#include "mpiscore/csv_reader.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail(const char *what, const ms_error *err)
{
    fprintf(stderr, "bench_csv_parse: %s: %s\n", what, err ? err->msg : "failed");
    return 1;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *id_name = "row_id";
    ms_precision prec = MS_PREC_F32;
    size_t rows = 65536;
    int repeat = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--prec") && i + 1 < argc)
            prec = !strcmp(argv[++i], "f64") ? MS_PREC_F64 : MS_PREC_F32;
        else if (!strcmp(argv[i], "--id") && i + 1 < argc)
            id_name = argv[++i];
        else if (!strcmp(argv[i], "--rows") && i + 1 < argc)
            rows = (size_t)strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            fprintf(stderr, "usage: bench_csv_parse FILE.csv [--prec f32|f64] [--id COLUMN] "
                            "[--rows N] [--repeat R]\n");
            return 2;
        }
    }
    if (!path)
        return fail("no file given", NULL);
    ms_error err = {0};
    ms_csv_header hdr;
    if (ms_csv_read_header(path, ',', &hdr, &err) != MS_OK)
        return fail("header", &err);
    FILE *fh = fopen(path, "rb");
    if (!fh)
        return fail(path, NULL);
    fseek(fh, 0, SEEK_END);
    size_t size = (size_t)ftell(fh);
    char *text = malloc(size + 1);
    fseek(fh, 0, SEEK_SET);
    if (!text || fread(text, 1, size, fh) != size)
        return fail("read", NULL);
    fclose(fh);

    int *colf = malloc(hdr.n_cols * sizeof *colf);
    ms_colspec *spec = calloc(hdr.n_cols, sizeof *spec);
    int id_col = -1;
    size_t nf = 0;
    for (size_t j = 0; j < hdr.n_cols; j++) {
        if (!strcmp(hdr.names[j], id_name)) {
            id_col = (int)j;
            colf[j] = -1;
            continue;
        }
        spec[nf].prec = prec;
        colf[j] = (int)nf++;
    }
    ms_csv_layout lay = {.delim = ',',
                         .n_cols = hdr.n_cols,
                         .col_feature = colf,
                         .id_col = id_col,
                         .n_features = nf,
                         .allow_missing = 1,
                         .file = path,
                         .col_names = hdr.names};

    /* the chunks a run would parse */
    size_t n_chunks = 0, cap = 64;
    ms_csv_chunk *chunks = malloc(cap * sizeof *chunks);
    ms_csv_scanner *sc;
    if (ms_csv_scanner_open(path, ',', hdr.data_offset, hdr.data_line, &sc, &err) != MS_OK)
        return fail("scanner", &err);
    ms_status st;
    while ((st = ms_csv_scanner_next(sc, rows, 0, &chunks[n_chunks], &err)) == MS_OK)
        if (++n_chunks == cap && !(chunks = realloc(chunks, (cap *= 2) * sizeof *chunks)))
            return fail("out of memory", NULL);
    if (st != MS_EOF)
        return fail("scan", &err);
    ms_csv_scanner_close(sc);

    ms_batch b;
    ms_batch_init(&b, nf, spec, id_col >= 0);
    double best = 1e30, sum = 0;
    size_t n_rows = 0, data_bytes = 0;
    for (int r = 0; r < repeat; r++) {
        sum = 0;
        n_rows = 0;
        data_bytes = 0;
        double t0 = now();
        for (size_t k = 0; k < n_chunks; k++) {
            ms_batch_reset(&b);
            if (ms_csv_parse_chunk(text + chunks[k].offset, chunks[k].length, chunks[k].first_line,
                                   &lay, &b, &err) != MS_OK)
                return fail("parse", &err);
            n_rows += b.n_rows;
            data_bytes += chunks[k].length;
            /* one value per chunk and column keeps the stores live */
            for (size_t c = 0; c < nf; c++)
                sum += prec == MS_PREC_F64 ? ms_batch_f64(&b, c)[b.n_rows / 2]
                                           : ms_batch_f32(&b, c)[b.n_rows / 2];
        }
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    size_t fields = n_rows * hdr.n_cols;
    printf("{\"bytes\": %zu, \"rows\": %zu, \"fields\": %zu, \"prec\": \"%s\", \"parse_s\": %.4f, "
           "\"mb_s\": %.1f, \"ns_per_field\": %.2f, \"checksum\": %.9g}\n",
           data_bytes, n_rows, fields, prec == MS_PREC_F64 ? "f64" : "f32", best,
           (double)data_bytes / best / 1e6, best * 1e9 / (double)fields, sum);
    ms_batch_free(&b);
    free(chunks);
    free(spec);
    free(colf);
    free(text);
    ms_csv_header_free(&hdr);
    return 0;
}
