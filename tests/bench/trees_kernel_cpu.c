/*
 * trees_kernel_cpu.c — the tree kernel's CPU time per tree x row, for
 * scripts/bench_trees.py on a shared machine: wall-clock figures there
 * move with the other work, CPU time of the scoring thread much less.
 *
 *   trees_kernel_cpu MODEL.h5 ROWS.f32 REPEAT [previous]
 *
 * ROWS.f32: float32 rows (the model's features, row-major, raw). Scores
 * them REPEAT times with the best ISA (MPISCORE_ISA chooses another) and
 * prints the least thread CPU time per tree x row in ns and a checksum of
 * the outputs; "previous" drops the quantized layout first, so the kernel
 * it replaced runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../src/core/kernels/trees_layout.h"
#include "mpiscore/kernels.h"
#include "mpiscore/model.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    ms_model *m = NULL;
    ms_error err;
    ms_isa isa;
    if (argc < 4) {
        fputs("usage: trees_kernel_cpu MODEL.h5 ROWS.f32 REPEAT [previous]\n", stderr);
        return 2;
    }
    if (ms_model_load(argv[1], &m, &err) != MS_OK || ms_isa_select(&isa, &err) != MS_OK) {
        fprintf(stderr, "trees_kernel_cpu: %s\n", err.msg);
        return 1;
    }
    ms_tree_layout *l = m->trees.compiled;
    if (m->kind != MS_KIND_TREES || !l) {
        fprintf(stderr, "trees_kernel_cpu: %s is not a compiled tree ensemble\n", argv[1]);
        return 1;
    }
    if (argc > 4) {
        ms_tree_quant_free(l->quant);
        l->quant = NULL;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0) {
        fprintf(stderr, "trees_kernel_cpu: cannot read %s\n", argv[2]);
        return 1;
    }
    long bytes = ftell(f);
    size_t n = (size_t)bytes / sizeof(float) / m->n_features;
    float *x = malloc((size_t)bytes), *out = malloc(n * m->n_outputs * sizeof *out);
    float *scratch = malloc(ms_predict_scratch_floats(m, n) * sizeof *scratch);
    rewind(f);
    if (!n || !x || !out || !scratch || fread(x, 1, (size_t)bytes, f) != (size_t)bytes) {
        fprintf(stderr, "trees_kernel_cpu: cannot read %s\n", argv[2]);
        return 1;
    }
    fclose(f);
    double best = -1, sum = 0;
    for (int r = 0; r < atoi(argv[3]); r++) {
        double t0 = cpu_now();
        ms_predict(m, isa, x, n, out, scratch);
        double t = cpu_now() - t0;
        if (best < 0 || t < best)
            best = t;
    }
    for (size_t i = 0; i < n * m->n_outputs; i++)
        sum += out[i];
    printf("{\"ns\": %.4f, \"isa\": \"%s\", \"quantized\": %d, \"checksum\": %.9g}\n",
           best * 1e9 / (double)n / (double)m->trees.n_trees, ms_isa_name(isa), l->quant != NULL,
           sum);
    free(x);
    free(out);
    free(scratch);
    ms_model_free(m);
    return 0;
}
