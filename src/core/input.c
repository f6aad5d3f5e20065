/*
 * input.c — the input plan, the coordinator's batch source and a rank's
 * batch loader (input.h).
 *
 * The plan is the only place that knows how a file's columns map onto the
 * model; source and loader only follow it, so every rank parses a batch the
 * same way whichever rank it lands on (output is independent of -n).
 */
#include "mpiscore/input.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpiscore/csv_reader.h"
#include "mpiscore/h5_reader.h"
#include "mpiscore/parquet.h"
#include "mpiscore/parquet_input.h"

/* ---- plan ---------------------------------------------------------------- */

static int is_hdf5_name(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return 0;
    return !strcasecmp(dot, ".h5") || !strcasecmp(dot, ".hdf5") || !strcasecmp(dot, ".hdf") ||
           !strcasecmp(dot, ".he5");
}

/* What a folder's entry is, from its name. Data tools leave markers beside
 * their output (Spark/Hadoop _SUCCESS, _committed_*, _temporary, .crc
 * checksums) and people leave READMEs and schemas: those are skipped. A
 * name without an extension is data (Hadoop's part-r-00000). Compressed
 * and Parquet files are kept, so that planning refuses them by name rather
 * than losing their rows silently. */
static const char *folder_skip_reason(const char *name)
{
    if (name[0] == '.')
        return "hidden";
    if (name[0] == '_')
        return "a marker of the tool that wrote the folder";
    const char *dot = strrchr(name, '.');
    if (!dot)
        return NULL;
    static const char *const data[] = {".csv",  ".tsv", ".txt", ".dat", ".psv",     ".h5",
                                       ".hdf5", ".hdf", ".he5", ".gz",  ".zst",     ".zstd",
                                       ".bz2",  ".xz",  ".zip", ".lz4", ".parquet", ".pq"};
    for (size_t i = 0; i < sizeof data / sizeof *data; i++)
        if (!strcasecmp(dot, data[i]))
            return NULL;
    if (!strcasecmp(dot, ".crc"))
        return "a checksum file";
    return "not an input format (.csv, .tsv, .txt, .h5, .hdf5, .parquet)";
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Note a folder entry left out, for the coordinator's info log. */
static void note_skipped(ms_inputs *in, const char *full, const char *why)
{
    char **p = realloc(in->skipped, (in->n_skipped + 1) * sizeof *p);
    if (!p)
        return;
    in->skipped = p;
    size_t len = strlen(full) + strlen(why) + 4;
    if ((p[in->n_skipped] = malloc(len)) != NULL) {
        snprintf(p[in->n_skipped], len, "%s: %s", full, why);
        in->n_skipped++;
    }
}

/* Append path's data files (folder_skip_reason says which) to *names. A
 * subfolder named key=value (a hive partition, as Spark and DuckDB write
 * partitioned output) is read too, at any depth; other subfolders are not. */
static ms_status list_folder(ms_inputs *in, const char *path, char ***names, size_t *nn, size_t *nc,
                             ms_error *err)
{
    ms_status st = MS_OK;
    DIR *dir = opendir(path);
    if (!dir)
        return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        const char *why = folder_skip_reason(de->d_name);
        size_t len = strlen(path) + strlen(de->d_name) + 2;
        char *full = malloc(len);
        if (!full) {
            st = ms_error_set(err, MS_EINTERNAL, "out of memory");
            break;
        }
        snprintf(full, len, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", de->d_name);
        struct stat fs;
        if (stat(full, &fs) == 0 && S_ISDIR(fs.st_mode) && de->d_name[0] != '.' &&
            strchr(de->d_name + 1, '=')) {
            st = list_folder(in, full, names, nn, nc, err);
            free(full);
            if (st != MS_OK)
                break;
            continue;
        }
        if (stat(full, &fs) != 0 || !S_ISREG(fs.st_mode)) {
            free(full);
            continue;
        }
        if (why) {
            note_skipped(in, full, why);
            free(full);
            continue;
        }
        if (*nn == *nc) {
            *nc = *nc ? 2 * *nc : 16;
            char **p = realloc(*names, *nc * sizeof *p);
            if (!p) {
                free(full);
                st = ms_error_set(err, MS_EINTERNAL, "out of memory");
                break;
            }
            *names = p;
        }
        (*names)[(*nn)++] = full;
    }
    closedir(dir);
    return st;
}

/* Append the regular files named by one --input: itself, or a folder's
 * data files sorted by name (list_folder says which). */
static ms_status expand_path(ms_inputs *in, const char *path, char ***list, size_t *n, size_t *cap,
                             ms_error *err)
{
    struct stat stt;
    if (stat(path, &stt) != 0)
        return ms_error_set(err, errno == ENOENT ? MS_EINPUT : MS_EIO, "%s: %s", path,
                            strerror(errno));
    char **names = NULL;
    size_t nn = 0, nc = 0, skipped_before = in->n_skipped;
    ms_status st = MS_OK;
    if (S_ISDIR(stt.st_mode)) {
        st = list_folder(in, path, &names, &nn, &nc, err);
        if (st == MS_OK && nn == 0 && in->n_skipped > skipped_before)
            st = ms_error_set(err, MS_EINPUT, "%s: folder has no input files (left out %s)", path,
                              in->skipped[in->n_skipped - 1]);
        else if (st == MS_OK && nn == 0)
            st = ms_error_set(err, MS_EINPUT, "%s: folder has no input files", path);
        if (st == MS_OK)
            qsort(names, nn, sizeof *names, cmp_str);
    } else if (S_ISREG(stt.st_mode)) {
        names = malloc(sizeof *names);
        if (!names || !(names[0] = strdup(path)))
            st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        else
            nn = 1;
    } else {
        return ms_error_set(err, MS_EINPUT, "%s: not a regular file or folder", path);
    }
    for (size_t i = 0; i < nn; i++) {
        if (st == MS_OK && *n == *cap) {
            *cap = *cap ? 2 * *cap : 16;
            char **p = realloc(*list, *cap * sizeof *p);
            if (!p)
                st = ms_error_set(err, MS_EINTERNAL, "out of memory");
            else
                *list = p;
        }
        if (st == MS_OK)
            (*list)[(*n)++] = names[i];
        else
            free(names[i]);
    }
    free(names);
    return st;
}

static char **dup_names(char *const *names, size_t n)
{
    char **out = calloc(n ? n : 1, sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!(out[i] = strdup(names[i]))) {
            for (size_t j = 0; j < i; j++)
                free(out[j]);
            free(out);
            return NULL;
        }
    }
    return out;
}

/* 1 if name, without its leading and trailing spaces and tabs, is want. */
static int trimmed_is(const char *name, const char *want)
{
    const char *a = name, *z = name + strlen(name);
    while (a < z && (*a == ' ' || *a == '\t'))
        a++;
    while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
        z--;
    return (size_t)(z - a) == strlen(want) && memcmp(a, want, (size_t)(z - a)) == 0;
}

/* The column named `want`: exactly as written (CSV headers keep blanks, as
 * pandas reads them), else the one column equal to it once blanks are
 * trimmed (a header written "a, b" still feeds a model trained on "b").
 * Returns the index, -1 if none, -2 (err set) if the trimmed match is
 * ambiguous. */
static long find_column(const ms_input_file *f, const char *want, const char *what, ms_error *err)
{
    for (size_t c = 0; c < f->n_cols; c++)
        if (strcmp(f->col_names[c], want) == 0)
            return (long)c;
    long found = -1;
    for (size_t c = 0; c < f->n_cols; c++) {
        if (!trimmed_is(f->col_names[c], want))
            continue;
        if (found >= 0) {
            ms_error_set(err, MS_EINPUT,
                         "%s: %s \"%s\" is ambiguous: columns %ld (\"%s\") and %zu (\"%s\") "
                         "both match once blanks are trimmed",
                         f->path, what, want, found + 1, f->col_names[found], c + 1,
                         f->col_names[c]);
            return -2;
        }
        found = (long)c;
    }
    return found;
}

/* Map the file's columns onto the model's input columns (its features
 * when it has no preprocessing program) by name. */
static ms_status map_columns(ms_input_file *f, const ms_model *m, const char *id_name,
                             ms_error *err)
{
    f->col_feature = malloc((f->n_cols ? f->n_cols : 1) * sizeof *f->col_feature);
    if (!f->col_feature)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    f->id_col = -1;
    for (size_t c = 0; c < f->n_cols; c++)
        f->col_feature[c] = -1;
    if (f->kind != MS_IN_HDF5 && id_name) {
        long c = find_column(f, id_name, "id column", err);
        if (c == -2)
            return MS_EINPUT;
        f->id_col = (int)c;
    }
    for (size_t j = 0; j < m->n_inputs; j++) {
        long c = find_column(f, m->inputs[j].name, "model feature", err);
        if (c == -2)
            return MS_EINPUT;
        if (c < 0)
            return ms_error_set(
                err, MS_EINPUT, "%s: column \"%s\" required by the model is missing%s", f->path,
                m->inputs[j].name,
                f->kind == MS_IN_HDF5 ? " (feature_names attribute, --features or a 1-D dataset)"
                : f->kind == MS_IN_PARQUET ? " from the schema"
                                           : " from the header");
        if (f->col_feature[c] >= 0)
            return ms_error_set(err, MS_EINPUT,
                                "%s: column %ld (\"%s\") matches both model features \"%s\" and "
                                "\"%s\"",
                                f->path, c + 1, f->col_names[c], m->inputs[f->col_feature[c]].name,
                                m->inputs[j].name);
        f->col_feature[c] = (int)j;
    }
    if (f->kind != MS_IN_HDF5 && id_name && f->id_col < 0)
        return ms_error_set(err, MS_EINPUT, "%s: id column \"%s\" (--id-column) is not in the %s",
                            f->path, id_name, f->kind == MS_IN_PARQUET ? "schema" : "header");
    return MS_OK;
}

/* --keep-columns of a CSV or Parquet file: columns by name (as features
 * are found). HDF5's reader maps its own. */
static ms_status map_keep_csv(ms_inputs *in, ms_input_file *f, ms_error *err)
{
    if (!in->n_keep)
        return MS_OK;
    if (!(f->keep_col = malloc(in->n_keep * sizeof *f->keep_col)))
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    for (size_t k = 0; k < in->n_keep; k++) {
        long c = find_column(f, in->keep_names[k], "kept column", err);
        if (c == -2)
            return MS_EINPUT;
        if (c < 0)
            return ms_error_set(err, MS_EINPUT,
                                "%s: column \"%s\" (--keep-columns) is not in the %s", f->path,
                                in->keep_names[k], f->kind == MS_IN_PARQUET ? "schema" : "header");
        f->keep_col[k] = (int)c;
    }
    return MS_OK;
}

static ms_status plan_keep(ms_inputs *in, const ms_input_opts *opts, ms_error *err)
{
    if (!opts->n_keep)
        return MS_OK;
    in->keep_names = calloc(opts->n_keep, sizeof *in->keep_names);
    in->keep_type = calloc(opts->n_keep, sizeof *in->keep_type);
    if (!in->keep_names || !in->keep_type)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    in->n_keep = opts->n_keep;
    for (size_t k = 0; k < opts->n_keep; k++) {
        for (size_t j = 0; j < k; j++)
            if (!strcmp(opts->keep_columns[j], opts->keep_columns[k]))
                return ms_error_set(err, MS_EUSAGE, "--keep-columns: \"%s\" is given twice",
                                    opts->keep_columns[k]);
        if (opts->id_column && !strcmp(opts->id_column, opts->keep_columns[k]))
            return ms_error_set(err, MS_EUSAGE,
                                "--keep-columns: \"%s\" is the --id-column, already in the output",
                                opts->keep_columns[k]);
        if (!(in->keep_names[k] = strdup(opts->keep_columns[k])))
            return ms_error_set(err, MS_EINTERNAL, "out of memory");
    }
    return MS_OK;
}

/* Compressed files, known by their first bytes whatever their name, are
 * refused by name: read as CSV they would fail on binary bytes
 * with a message that does not say why. */
static ms_status refuse_packed(const char *path, ms_error *err)
{
    static const struct {
        const char *magic;
        size_t len;
        const char *what, *advice;
    } kinds[] = {
        {"\x1f\x8b", 2, "gzip-compressed", "decompress it first (gzip -dk FILE)"},
        {"\x28\xb5\x2f\xfd", 4, "zstd-compressed", "decompress it first (zstd -d FILE)"},
        {"BZh", 3, "bzip2-compressed", "decompress it first (bzip2 -dk FILE)"},
        {"\xfd"
         "7zXZ\x00",
         6, "xz-compressed", "decompress it first (xz -dk FILE)"},
        {"PK\x03\x04", 4, "a zip archive", "extract it first (unzip FILE)"},
        {"\x04\x22\x4d\x18", 4, "lz4-compressed", "decompress it first (lz4 -d FILE)"},
    };
    unsigned char head[8] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ms_error_set(err, MS_EIO, "%s: %s", path, strerror(errno));
    ssize_t got = pread(fd, head, sizeof head, 0);
    close(fd);
    for (size_t i = 0; got > 0 && i < sizeof kinds / sizeof *kinds; i++)
        if ((size_t)got >= kinds[i].len && !memcmp(head, kinds[i].magic, kinds[i].len))
            return ms_error_set(err, MS_EINPUT, "%s: the file is %s; %s", path, kinds[i].what,
                                kinds[i].advice);
    return MS_OK;
}

/* ---- plan: Parquet ---------------------------------------------------------- */

/* A Parquet file: by its name, or by its first bytes whatever its name
 * (Spark writes part-00000-...-c000.snappy.parquet, others no extension). */
static int is_parquet(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && !(slash && dot < slash) && (!strcasecmp(dot, ".parquet") || !strcasecmp(dot, ".pq")))
        return 1;
    char head[4];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t got = pread(fd, head, sizeof head, 0);
    close(fd);
    return got == 4 && !memcmp(head, "PAR1", 4);
}

static const char *val_type_name(ms_val_type t)
{
    static const char *const names[] = {"text", "int64", "double", "float", "bool"};
    return (size_t)t < sizeof names / sizeof *names ? names[t] : "?";
}

/* The output type of a text column (the id, a kept column) in this file:
 * the first file sets it, the others of a Parquet run must agree. */
static ms_status agree_type(const ms_inputs *in, const ms_input_file *f, ms_val_type *slot,
                            ms_val_type t, const char *col, ms_error *err)
{
    if (f == &in->files[0]) {
        *slot = t;
        return MS_OK;
    }
    if (in->files[0].kind != MS_IN_PARQUET || *slot == t)
        return MS_OK;
    return ms_error_set(err, MS_EINPUT, "%s: column \"%s\" is %s here but %s in %s", f->path, col,
                        val_type_name(t), val_type_name(*slot), in->files[0].path);
}

/* Check that schema column c reads as its use needs (the id, a kept column:
 * their text; model input j), so a file the workers cannot read is refused
 * here, by column name, before any row is scored. */
static ms_status check_pq_column(ms_pq_file *pq, const ms_input_file *f, size_t c,
                                 const ms_colspec *sp, ms_error *err)
{
    const ms_pq_column *col = ms_pq_column_info(pq, c);
    ms_pq_as as = ms_pqin_text_as(col);
    if (sp) {
        ms_status st = ms_pqin_input_as(f->path, col, sp, &as, err);
        if (st != MS_OK)
            return st;
    }
    return ms_pq_check_column(pq, c, as, err);
}

/* Hive partition folders in f's path ("/key=value/"): each key becomes a
 * column after the schema's, its value the folder's text. A key twice in
 * the path, or also a column of the file, is refused. */
static ms_status add_hive_columns(ms_input_file *f, ms_error *err)
{
    for (const char *p = f->path; (p = strchr(p, '/')) != NULL; p++) {
        const char *e = strchr(p + 1, '/'), *eq = strchr(p + 1, '=');
        if (!e)
            break;
        if (!eq || eq >= e || eq == p + 1)
            continue;
        char *key = strndup(p + 1, (size_t)(eq - p - 1));
        char **names = key ? realloc(f->col_names, (f->n_cols + 1) * sizeof *names) : NULL;
        if (!names) {
            free(key);
            return ms_error_set(err, MS_EINTERNAL, "out of memory");
        }
        f->col_names = names;
        for (size_t c = 0; c < f->n_cols; c++)
            if (!strcmp(names[c], key)) {
                ms_error_set(err, MS_EINPUT,
                             "%s: hive folder key \"%s\" is given twice (a folder or a column of "
                             "the file)",
                             f->path, key);
                free(key);
                return MS_EINPUT;
            }
        names[f->n_cols++] = key;
    }
    return MS_OK;
}

/* A hive column's output type: an integer or a number when every file's
 * folder value parses as one, else text. */
static ms_val_type hive_type(const ms_input_file *f, size_t c)
{
    size_t n = 0;
    const char *v = ms_pqin_hive_value(f->path, f->col_names[c], &n);
    double d;
    if (!v || ms_parse_f64(v, n, &d) != MS_NUM_OK)
        return MS_VAL_TEXT;
    size_t i = v[0] == '-' || v[0] == '+';
    while (i < n && v[i] >= '0' && v[i] <= '9')
        i++;
    return i == n && n > 0 ? MS_VAL_INT64 : MS_VAL_DOUBLE;
}

/* The type of text column c of f (the id, a kept column) into *slot: schema
 * columns by their type (every file the same), hive columns by their
 * values (the widest of the files': int64, then double, then text). */
static ms_status plan_text_type(const ms_inputs *in, const ms_input_file *f, ms_pq_file *pq,
                                size_t c, ms_val_type *slot, const char *name, ms_error *err)
{
    if (c < ms_pq_num_columns(pq)) {
        ms_status st = check_pq_column(pq, f, c, NULL, err);
        if (st != MS_OK)
            return st;
        return agree_type(in, f, slot, ms_pqin_text_type(ms_pq_column_info(pq, c)), name, err);
    }
    ms_val_type t = hive_type(f, c);
    if (f == &in->files[0] || t == MS_VAL_TEXT || *slot == MS_VAL_TEXT)
        *slot = t;
    else if (t == MS_VAL_DOUBLE)
        *slot = MS_VAL_DOUBLE;
    return MS_OK;
}

/* A Parquet file: its footer only (schema, row groups), the model's
 * columns mapped by name and checked readable, the id and kept columns'
 * types from the schema. */
static ms_status plan_parquet(ms_inputs *in, ms_input_file *f, const ms_input_opts *opts,
                              const ms_model *m, ms_error *err)
{
    ms_status st = MS_OK;
    ms_pq_file *pq = NULL;
    f->kind = MS_IN_PARQUET;
    MS_CHECK(ms_pq_open(f->path, &pq, err));
    f->n_rows = (uint64_t)ms_pq_num_rows(pq);
    size_t n = ms_pq_num_columns(pq);
    if (!(f->col_names = calloc(n ? n : 1, sizeof *f->col_names))) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t c = 0; c < n; c++, f->n_cols++)
        if (!(f->col_names[c] = strdup(ms_pq_column_info(pq, c)->name))) {
            st = ms_error_set(err, MS_EINTERNAL, "out of memory");
            goto done;
        }
    MS_CHECK(add_hive_columns(f, err));
    MS_CHECK(map_columns(f, m, opts->id_column, err));
    MS_CHECK(map_keep_csv(in, f, err));
    for (size_t c = 0; c < n; c++)
        if (f->col_feature[c] >= 0)
            MS_CHECK(check_pq_column(pq, f, c, &m->inputs[f->col_feature[c]], err));
    if (f->id_col >= 0)
        MS_CHECK(plan_text_type(in, f, pq, (size_t)f->id_col, &in->id_type, opts->id_column, err));
    for (size_t k = 0; k < in->n_keep; k++)
        MS_CHECK(plan_text_type(in, f, pq, (size_t)f->keep_col[k], &in->keep_type[k],
                                in->keep_names[k], err));
    in->total_units += f->n_rows;
done:
    ms_pq_close(pq);
    return st;
}

/* An HDF5 file: the matrix's columns, then the model's other inputs and
 * the kept columns from 1-D datasets of their names (h5_reader.h); each
 * kept column's type is its dataset's, the same in every file. */
static ms_status plan_hdf5(ms_inputs *in, ms_input_file *f, const ms_input_opts *opts,
                           const ms_model *m, ms_error *err)
{
    ms_status st = MS_OK;
    ms_h5_input *h = NULL;
    char **want = calloc(m->n_inputs ? m->n_inputs : 1, sizeof *want);
    if (!want)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    for (size_t j = 0; j < m->n_inputs; j++)
        want[j] = m->inputs[j].name;
    ms_h5_open_opts o = {.dataset = in->dataset,
                         .names = opts->features,
                         .n_names = opts->n_features,
                         .want = want,
                         .n_want = m->n_inputs,
                         .id_dataset = in->id_dataset,
                         .keep = in->keep_names,
                         .n_keep = in->n_keep};
    MS_CHECK(ms_h5_input_open_opts(f->path, &o, &h, err));
    f->n_rows = ms_h5_input_rows(h);
    f->n_cols = ms_h5_input_cols(h);
    if (!(f->col_names = dup_names(ms_h5_input_names(h), f->n_cols)) ||
        (in->n_keep && !(f->keep_col = malloc(in->n_keep * sizeof *f->keep_col)))) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    in->total_units += f->n_rows;
    for (size_t k = 0; k < in->n_keep; k++) {
        ms_val_type t = ms_h5_input_keep_type(h, k);
        f->keep_col[k] = -1; /* the reader finds it by name */
        if (f == in->files)
            in->keep_type[k] = t;
        else if (in->keep_type[k] != t) {
            st = ms_error_set(err, MS_EINPUT,
                              "%s: kept column \"%s\" has another type than in %s (--keep-columns)",
                              f->path, in->keep_names[k], in->files[0].path);
            goto done;
        }
    }
    MS_CHECK(map_columns(f, m, NULL, err));
    MS_CHECK(ms_h5_input_check_kinds(h, f->col_feature, m->inputs, err));
done:
    ms_h5_input_close(h);
    free(want);
    return st;
}

static ms_status plan_file(ms_inputs *in, ms_input_file *f, const ms_input_opts *opts,
                           const ms_model *m, ms_error *err)
{
    ms_status st = MS_OK;
    struct stat stt;
    if (stat(f->path, &stt) != 0)
        return ms_error_set(err, MS_EIO, "%s: %s", f->path, strerror(errno));
    f->size = (int64_t)stt.st_size;
    f->mtime_ns = (int64_t)stt.st_mtim.tv_sec * 1000000000LL + stt.st_mtim.tv_nsec;
    if (access(f->path, R_OK) != 0)
        return ms_error_set(err, MS_EIO, "%s: %s", f->path, strerror(errno));
    if (is_parquet(f->path))
        return plan_parquet(in, f, opts, m, err);
    MS_CHECK(refuse_packed(f->path, err));
    if (is_hdf5_name(f->path)) {
        f->kind = MS_IN_HDF5;
        return plan_hdf5(in, f, opts, m, err);
    } else {
        f->kind = MS_IN_CSV;
        ms_csv_header hdr;
        MS_CHECK(ms_csv_read_header(f->path, in->delim, &hdr, err));
        f->n_cols = hdr.n_cols;
        f->col_names = hdr.names;
        f->data_offset = (int64_t)hdr.data_offset;
        f->data_line = hdr.data_line;
        hdr.names = NULL;
        in->total_units += (uint64_t)(f->size - f->data_offset);
    }
    MS_CHECK(map_columns(f, m, f->kind == MS_IN_CSV ? opts->id_column : NULL, err));
    if (f->kind == MS_IN_CSV)
        MS_CHECK(map_keep_csv(in, f, err));
done:
    return st;
}

ms_status ms_inputs_plan(char *const *paths, size_t n_paths, const ms_input_opts *opts,
                         const ms_model *m, ms_inputs **out, ms_error *err)
{
    ms_status st = MS_OK;
    char **files = NULL;
    size_t n = 0, cap = 0;
    ms_inputs *in = calloc(1, sizeof *in);
    if (!in)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    in->delim = opts->delim ? opts->delim : ',';
    in->dataset = strdup(opts->dataset ? opts->dataset : "/features");
    in->allow_missing = ms_model_allows_missing(m);
    in->n_features = m->n_inputs;
    if (opts->id_column) {
        size_t len = strlen(opts->id_column) + 2;
        in->id_dataset = malloc(len);
        if (in->id_dataset)
            snprintf(in->id_dataset, len, "%s%s", opts->id_column[0] == '/' ? "" : "/",
                     opts->id_column);
    }
    if (!in->dataset || (opts->id_column && !in->id_dataset)) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    if (n_paths == 0) {
        st = ms_error_set(err, MS_EUSAGE, "no input given (--input FILE|FOLDER)");
        goto done;
    }
    MS_CHECK(plan_keep(in, opts, err));
    for (size_t i = 0; i < n_paths; i++)
        MS_CHECK(expand_path(in, paths[i], &files, &n, &cap, err));
    in->files = calloc(n, sizeof *in->files);
    if (!in->files) {
        st = ms_error_set(err, MS_EINTERNAL, "out of memory");
        goto done;
    }
    struct stat so;
    int have_out = opts->output && stat(opts->output, &so) == 0;
    for (size_t i = 0; i < n; i++) {
        struct stat si;
        if (have_out && stat(files[i], &si) == 0 && si.st_dev == so.st_dev &&
            si.st_ino == so.st_ino) {
            st = ms_error_set(err, MS_EUSAGE, "%s: the output is also an input", opts->output);
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) {
        in->files[i].path = files[i];
        files[i] = NULL;
        in->n_files = i + 1;
        MS_CHECK(plan_file(in, &in->files[i], opts, m, err));
    }
done:
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    if (st != MS_OK) {
        ms_inputs_free(in);
        in = NULL;
    }
    *out = in;
    return st;
}

void ms_inputs_free(ms_inputs *in)
{
    if (!in)
        return;
    for (size_t i = 0; i < in->n_files; i++) {
        ms_input_file *f = &in->files[i];
        free(f->path);
        for (size_t c = 0; f->col_names && c < f->n_cols; c++)
            free(f->col_names[c]);
        free(f->col_names);
        free(f->col_feature);
        free(f->keep_col);
    }
    free(in->files);
    for (size_t k = 0; in->keep_names && k < in->n_keep; k++)
        free(in->keep_names[k]);
    free(in->keep_names);
    free(in->keep_type);
    for (size_t i = 0; i < in->n_skipped; i++)
        free(in->skipped[i]);
    free(in->skipped);
    free(in->dataset);
    free(in->id_dataset);
    free(in);
}

/* ---- pack / unpack ------------------------------------------------------- */

typedef struct packer {
    char *buf;
    size_t len, cap;
    ms_error *err;
    ms_status st;
} packer;

static void put(packer *p, const void *src, size_t n)
{
    if (p->st != MS_OK)
        return;
    if ((p->st = ms_buf_reserve(&p->buf, &p->cap, p->len + n, p->err)) != MS_OK)
        return;
    memcpy(p->buf + p->len, src, n);
    p->len += n;
}

static void put_u64(packer *p, uint64_t v)
{
    put(p, &v, sizeof v);
}

static void put_str(packer *p, const char *s)
{
    uint64_t n = s ? strlen(s) + 1 : 0;
    put_u64(p, n);
    if (n)
        put(p, s, n);
}

ms_status ms_inputs_pack(const ms_inputs *in, char **buf, size_t *len, ms_error *err)
{
    packer p = {NULL, 0, 0, err, MS_OK};
    put_u64(&p, in->n_files);
    put_u64(&p, (uint64_t)(unsigned char)in->delim);
    put_str(&p, in->dataset);
    put_str(&p, in->id_dataset);
    put_u64(&p, (uint64_t)in->allow_missing);
    put_u64(&p, in->n_features);
    put_u64(&p, in->total_units);
    put_u64(&p, (uint64_t)in->id_type);
    put_u64(&p, in->n_keep);
    for (size_t k = 0; k < in->n_keep; k++) {
        put_str(&p, in->keep_names[k]);
        put_u64(&p, (uint64_t)in->keep_type[k]);
    }
    for (size_t i = 0; i < in->n_files; i++) {
        const ms_input_file *f = &in->files[i];
        put_str(&p, f->path);
        put_u64(&p, (uint64_t)f->kind);
        put_u64(&p, f->n_cols);
        for (size_t c = 0; c < f->n_cols; c++) {
            put_str(&p, f->col_names[c]);
            put_u64(&p, (uint64_t)(int64_t)f->col_feature[c]);
        }
        put_u64(&p, (uint64_t)(int64_t)f->id_col);
        for (size_t k = 0; k < in->n_keep; k++)
            put_u64(&p, (uint64_t)(int64_t)(f->keep_col ? f->keep_col[k] : -1));
        put_u64(&p, (uint64_t)f->data_offset);
        put_u64(&p, f->data_line);
        put_u64(&p, f->n_rows);
        put_u64(&p, (uint64_t)f->size);
        put_u64(&p, (uint64_t)f->mtime_ns);
    }
    if (p.st != MS_OK) {
        free(p.buf);
        return p.st;
    }
    *buf = p.buf;
    *len = p.len;
    return MS_OK;
}

typedef struct unpacker {
    const char *buf;
    size_t len, pos;
    int bad;
} unpacker;

static uint64_t get_u64(unpacker *u)
{
    uint64_t v = 0;
    if (u->bad || u->len - u->pos < sizeof v) {
        u->bad = 1;
        return 0;
    }
    memcpy(&v, u->buf + u->pos, sizeof v);
    u->pos += sizeof v;
    return v;
}

static char *get_str(unpacker *u)
{
    uint64_t n = get_u64(u);
    if (n == 0 || u->bad)
        return NULL;
    if (u->len - u->pos < n || u->buf[u->pos + n - 1] != '\0') {
        u->bad = 1;
        return NULL;
    }
    char *s = strdup(u->buf + u->pos);
    if (!s)
        u->bad = 1;
    u->pos += n;
    return s;
}

ms_status ms_inputs_unpack(const char *buf, size_t len, ms_inputs **out, ms_error *err)
{
    unpacker u = {buf, len, 0, 0};
    ms_inputs *in = calloc(1, sizeof *in);
    if (!in)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    uint64_t n = get_u64(&u);
    if (n > len) /* each file takes far more than a byte: a corrupt count */
        u.bad = 1;
    in->delim = (char)get_u64(&u);
    in->dataset = get_str(&u);
    in->id_dataset = get_str(&u);
    in->allow_missing = (int)get_u64(&u);
    in->n_features = get_u64(&u);
    in->total_units = get_u64(&u);
    in->id_type = (ms_val_type)get_u64(&u);
    uint64_t nk = get_u64(&u);
    if (nk > len)
        u.bad = 1;
    if (!u.bad && nk) {
        in->keep_names = calloc(nk, sizeof *in->keep_names);
        in->keep_type = calloc(nk, sizeof *in->keep_type);
        if (!in->keep_names || !in->keep_type)
            u.bad = 1;
        else
            in->n_keep = nk;
    }
    for (size_t k = 0; k < in->n_keep && !u.bad; k++) {
        in->keep_names[k] = get_str(&u);
        in->keep_type[k] = (ms_val_type)get_u64(&u);
        if (!in->keep_names[k])
            u.bad = 1;
    }
    if (!u.bad)
        in->files = calloc(n ? n : 1, sizeof *in->files);
    if (!in->files)
        u.bad = 1;
    for (size_t i = 0; i < n && !u.bad; i++) {
        ms_input_file *f = &in->files[i];
        in->n_files = i + 1;
        f->path = get_str(&u);
        f->kind = (ms_in_kind)get_u64(&u);
        uint64_t nc = get_u64(&u);
        if (u.bad || nc > len)
            break;
        f->col_names = calloc(nc ? nc : 1, sizeof *f->col_names);
        f->col_feature = calloc(nc ? nc : 1, sizeof *f->col_feature);
        if (!f->col_names || !f->col_feature) {
            u.bad = 1;
            break;
        }
        f->n_cols = nc;
        for (size_t c = 0; c < nc; c++) {
            f->col_names[c] = get_str(&u);
            f->col_feature[c] = (int)(int64_t)get_u64(&u);
        }
        f->id_col = (int)(int64_t)get_u64(&u);
        if (in->n_keep && !(f->keep_col = malloc(in->n_keep * sizeof *f->keep_col))) {
            u.bad = 1;
            break;
        }
        for (size_t k = 0; k < in->n_keep; k++)
            f->keep_col[k] = (int)(int64_t)get_u64(&u);
        f->data_offset = (int64_t)get_u64(&u);
        f->data_line = get_u64(&u);
        f->n_rows = get_u64(&u);
        f->size = (int64_t)get_u64(&u);
        f->mtime_ns = (int64_t)get_u64(&u);
    }
    if (u.bad || u.pos != len) {
        ms_inputs_free(in);
        *out = NULL;
        return ms_error_set(err, MS_EINTERNAL, "corrupt input plan message (%zu bytes)", len);
    }
    *out = in;
    return MS_OK;
}

/* ---- source -------------------------------------------------------------- */

struct ms_source {
    const ms_inputs *in;
    size_t batch_rows, batch_bytes;
    size_t file;         /* current file */
    ms_csv_scanner *csv; /* open scanner on a CSV file, or NULL */
    uint64_t h5_next;    /* next row of an HDF5 or Parquet file */
    ms_pq_file *pq;      /* the current Parquet file's footer, or NULL */
    int file_started;
    uint64_t seq;
};

ms_status ms_source_open(const ms_inputs *in, size_t batch_rows, size_t batch_bytes,
                         ms_source **out, ms_error *err)
{
    ms_source *s = calloc(1, sizeof *s);
    if (!s)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    s->in = in;
    s->batch_rows = batch_rows ? batch_rows : 1;
    s->batch_bytes = batch_bytes ? batch_bytes : 1;
    *out = s;
    return MS_OK;
}

void ms_source_set_batch_rows(ms_source *s, size_t batch_rows)
{
    s->batch_rows = batch_rows ? batch_rows : 1;
}

/* 1 (err set) if a CSV file is no longer what the run planned: another
 * size or mtime now, or (at_end: the scanner reached its end) an end
 * somewhere else. Checked after every chunk is cut, before it is handed
 * out, so a chunk cut from a file truncated (or rewritten) under the
 * scanner never reaches a parser: the run fails naming the file instead
 * of scoring fewer rows or half a record. Workers' reads check the ranges
 * they were given (ms_loader_read_bytes). */
static int file_changed(const ms_input_file *f, const ms_csv_scanner *sc, int at_end, ms_error *err)
{
    struct stat now;
    int64_t size = f->size;
    if (stat(f->path, &now) != 0) {
        ms_error_set(err, MS_EIO, "%s: %s (while being read)", f->path, strerror(errno));
        return 1;
    }
    if ((int64_t)now.st_size != f->size) {
        size = (int64_t)now.st_size;
    } else if (at_end) {
        off_t at;
        uint64_t line;
        ms_csv_scanner_tell(sc, &at, &line);
        size = (int64_t)at;
    }
    if (size != f->size) {
        ms_error_set(
            err, MS_EIO, "%s: file %s while being read (%lld bytes when the run started, %lld now)",
            f->path, size < f->size ? "shrank" : "grew", (long long)f->size, (long long)size);
        return 1;
    }
    int64_t mtime = (int64_t)now.st_mtim.tv_sec * 1000000000LL + now.st_mtim.tv_nsec;
    if (mtime != f->mtime_ns) {
        ms_error_set(err, MS_EIO, "%s: file modified while being read", f->path);
        return 1;
    }
    return 0;
}

/* A batch of rows from h5_next, at most batch_rows and not past row `end`
 * (HDF5, Parquet): offset is the first row, 0-based, and the resume point
 * the row after the batch. */
static void cut_rows(ms_source *s, uint64_t end, ms_desc *d)
{
    uint64_t left = end - s->h5_next;
    d->offset = (int64_t)s->h5_next;
    d->n_rows = left < s->batch_rows ? left : s->batch_rows;
    d->first_line = s->h5_next + 1;
    d->units = d->n_rows;
    d->seq = s->seq++;
    s->h5_next += d->n_rows;
    d->next_offset = (int64_t)s->h5_next;
    d->next_line = s->h5_next + 1;
}

/* The next batch of the current Parquet file: rows from h5_next to the end
 * of its row group, at most batch_rows (a batch never spans row groups, so
 * a worker reads each column chunk once per batch). offset is the row
 * within the file, 0-based, and the resume point the next row. Returns
 * MS_EOF at the file's end. */
static ms_status next_parquet(ms_source *s, const ms_input_file *f, ms_desc *d, ms_error *err)
{
    if (!s->pq) {
        ms_status st = ms_pq_open(f->path, &s->pq, err);
        if (st != MS_OK)
            return st;
        if ((uint64_t)ms_pq_num_rows(s->pq) != f->n_rows)
            return ms_error_set(err, MS_EIO, "%s: file changed since the run started", f->path);
    }
    size_t nrg = ms_pq_num_row_groups(s->pq);
    for (size_t g = 0; g < nrg && s->h5_next < f->n_rows; g++) {
        uint64_t g0 = (uint64_t)ms_pq_row_group_first_row(s->pq, g);
        uint64_t g1 = g0 + (uint64_t)ms_pq_row_group_rows(s->pq, g);
        if (s->h5_next >= g1)
            continue;
        cut_rows(s, g1, d);
        return MS_OK;
    }
    ms_pq_close(s->pq);
    s->pq = NULL;
    return MS_EOF;
}

ms_status ms_source_next(ms_source *s, ms_desc *d, ms_error *err)
{
    ms_status st;
    while (s->file < s->in->n_files) {
        const ms_input_file *f = &s->in->files[s->file];
        memset(d, 0, sizeof *d);
        d->file = (uint32_t)s->file;
        if (f->kind == MS_IN_CSV) {
            if (!s->file_started) {
                st = ms_csv_scanner_open(f->path, s->in->delim, (off_t)f->data_offset, f->data_line,
                                         &s->csv, err);
                if (st != MS_OK)
                    return st;
                s->file_started = 1;
            }
            ms_csv_chunk c;
            st = ms_csv_scanner_next(s->csv, s->batch_rows, s->batch_bytes, &c, err);
            /* an error may come from a file cut short: say that instead */
            if (st != MS_EOF && file_changed(f, s->csv, 0, err))
                return MS_EIO;
            if (st == MS_OK && c.n_records > 0) {
                d->offset = (int64_t)c.offset;
                d->length = c.length;
                d->first_line = c.first_line;
                d->n_rows = c.n_records;
                d->units = c.length;
                d->seq = s->seq++;
                off_t no;
                ms_csv_scanner_tell(s->csv, &no, &d->next_line);
                d->next_offset = (int64_t)no;
                return MS_OK;
            }
            if (st == MS_OK) /* only blank lines left */
                continue;
            if (st == MS_EOF && file_changed(f, s->csv, 1, err))
                return MS_EIO;
            if (st != MS_EOF)
                return st;
            ms_csv_scanner_close(s->csv);
            s->csv = NULL;
        } else if (f->kind == MS_IN_PARQUET) {
            st = next_parquet(s, f, d, err);
            if (st != MS_EOF)
                return st;
        } else if (s->h5_next < f->n_rows) {
            cut_rows(s, f->n_rows, d);
            return MS_OK;
        }
        s->file++;
        s->file_started = 0;
        s->h5_next = 0;
    }
    return MS_EOF;
}

ms_status ms_source_seek(ms_source *s, uint32_t file, int64_t offset, uint64_t line, uint64_t seq,
                         ms_error *err)
{
    if (file >= s->in->n_files)
        return ms_error_set(err, MS_EINPUT, "resume point names file %u of %zu", file,
                            s->in->n_files);
    const ms_input_file *f = &s->in->files[file];
    ms_csv_scanner_close(s->csv);
    s->csv = NULL;
    s->file = file;
    s->seq = seq;
    s->file_started = 0;
    s->h5_next = 0;
    ms_pq_close(s->pq);
    s->pq = NULL;
    if (f->kind == MS_IN_HDF5 || f->kind == MS_IN_PARQUET) {
        if ((uint64_t)offset > f->n_rows)
            return ms_error_set(err, MS_EINPUT, "%s: resume row %lld is past the end", f->path,
                                (long long)offset);
        s->h5_next = (uint64_t)offset;
        return MS_OK;
    }
    if (offset < f->data_offset || offset > f->size)
        return ms_error_set(err, MS_EINPUT, "%s: resume offset %lld is outside the data", f->path,
                            (long long)offset);
    ms_status st = ms_csv_scanner_open(f->path, s->in->delim, (off_t)offset, line, &s->csv, err);
    if (st == MS_OK)
        s->file_started = 1;
    return st;
}

void ms_source_close(ms_source *s)
{
    if (!s)
        return;
    ms_csv_scanner_close(s->csv);
    ms_pq_close(s->pq);
    free(s);
}

/* ---- loader -------------------------------------------------------------- */

struct ms_loader {
    const ms_inputs *in;
    int *fds;         /* per file, -1 until first use */
    ms_h5_input **h5; /* per file, NULL until first use */
    ms_pq_input **pq; /* per file, NULL until first use */
    char *buf;
    size_t cap;
    int max_retries;  /* transient read failures retried per batch */
    uint64_t retries; /* retries made so far, for --metrics */
    /* MPISCORE_FAULT_READ (tests only): fail or slow this process's reads */
    char fault_kind; /* 0 none, 'e' EIO, 's' short read, 'w' slow */
    long fault_left; /* reads still to fail */
    double fault_sleep;
};

/* MPISCORE_FAULT_READ=eio:N | short:N (the next N batch reads fail with EIO
 * or come back short, as a flaky network filesystem does) | slow:SECONDS
 * (every batch read takes that long, Parquet and HDF5 batches too). Launched for one rank only (mpirun's
 * `-n 1 A : -n 1 env MPISCORE_FAULT_READ=... A`), it drives the retry and
 * timeout tests. */
static void fault_init(ms_loader *ld)
{
    const char *f = getenv("MPISCORE_FAULT_READ");
    if (!f)
        return;
    if (!strncmp(f, "eio:", 4) || !strncmp(f, "short:", 6)) {
        ld->fault_kind = f[0] == 'e' ? 'e' : 's';
        ld->fault_left = strtol(strchr(f, ':') + 1, NULL, 10);
    } else if (!strncmp(f, "slow:", 5)) {
        ld->fault_kind = 'w';
        ld->fault_sleep = strtod(f + 5, NULL);
    }
}

ms_status ms_loader_create(const ms_inputs *in, ms_loader **out, ms_error *err)
{
    ms_loader *ld = calloc(1, sizeof *ld);
    size_t n = in->n_files ? in->n_files : 1;
    if (ld) {
        ld->in = in;
        ld->fds = malloc(n * sizeof *ld->fds);
        ld->h5 = calloc(n, sizeof *ld->h5);
        ld->pq = calloc(n, sizeof *ld->pq);
    }
    if (!ld || !ld->fds || !ld->h5 || !ld->pq) {
        ms_loader_destroy(ld);
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        ld->fds[i] = -1;
    ld->max_retries = 3;
    fault_init(ld);
    *out = ld;
    return MS_OK;
}

void ms_loader_set_max_retries(ms_loader *ld, int n)
{
    ld->max_retries = n < 0 ? 0 : n;
}

uint64_t ms_loader_retries(const ms_loader *ld)
{
    return ld->retries;
}

/* Errors a network filesystem gives and takes back: worth another try. */
static int transient_errno(int e)
{
    return e == EIO || e == ESTALE || e == EAGAIN || e == ETIMEDOUT || e == ECONNRESET;
}

/* One attempt at d's bytes. *transient says whether trying again may help:
 * a short read is one (an NFS client can return one before the server has
 * caught up), and a file that really shrank stays short every time. */
static ms_status read_once(ms_loader *ld, const ms_desc *d, char *buf, int *transient,
                           ms_error *err)
{
    const ms_input_file *f = &ld->in->files[d->file];
    size_t got = 0;
    char fault = 0;
    if (ld->fault_kind == 'w' && ld->fault_sleep > 0)
        usleep((useconds_t)(ld->fault_sleep * 1e6));
    if ((ld->fault_kind == 'e' || ld->fault_kind == 's') && ld->fault_left > 0) {
        ld->fault_left--;
        fault = ld->fault_kind;
    }
    *transient = 0;
    while (got < d->length) {
        ssize_t r = fault == 'e'   ? (errno = EIO, -1)
                    : fault == 's' ? 0
                                   : pread(ld->fds[d->file], buf + got, d->length - got,
                                           (off_t)(d->offset + (int64_t)got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *transient = transient_errno(errno);
            return ms_error_set(err, MS_EIO, "%s: %s", f->path, strerror(errno));
        }
        if (r == 0) {
            *transient = 1;
            return ms_error_set(err, MS_EIO,
                                "%s: file shrank while being read (expected %llu bytes at offset "
                                "%lld)",
                                f->path, (unsigned long long)d->length, (long long)d->offset);
        }
        got += (size_t)r;
    }
    return MS_OK;
}

ms_status ms_loader_read_bytes(ms_loader *ld, const ms_desc *d, char **buf, size_t *cap,
                               ms_error *err)
{
    const ms_input_file *f = &ld->in->files[d->file];
    if (ld->fds[d->file] < 0) {
        ld->fds[d->file] = open(f->path, O_RDONLY | O_CLOEXEC);
        if (ld->fds[d->file] < 0)
            return ms_error_set(err, MS_EIO, "%s: %s", f->path, strerror(errno));
    }
    ms_status st = ms_buf_reserve(buf, cap, d->length + 1, err);
    if (st != MS_OK)
        return st;
    /* Retry what may pass, with backoff (50, 200, 800 ms, ...): the
     * managed endpoints' max_retries for a flaky shared filesystem. */
    int transient = 0;
    useconds_t backoff = 50000;
    for (int attempt = 0;; attempt++) {
        st = read_once(ld, d, *buf, &transient, err);
        if (st == MS_OK || !transient || attempt >= ld->max_retries)
            break;
        ld->retries++;
        usleep(backoff);
        backoff = backoff < 2000000 ? backoff * 4 : backoff;
    }
    if (st != MS_OK && transient && ld->max_retries > 0) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, " (after %d retries)", ld->max_retries);
    }
    return st;
}

ms_status ms_loader_load(ms_loader *ld, const ms_desc *d, const char *bytes, ms_batch *b,
                         ms_error *err)
{
    ms_status st;
    const ms_input_file *f = &ld->in->files[d->file];
    ms_batch_reset(b);
    if (f->kind != MS_IN_CSV && ld->fault_kind == 'w' && ld->fault_sleep > 0)
        usleep((useconds_t)(ld->fault_sleep * 1e6)); /* CSV's is in read_once */
    if (f->kind == MS_IN_PARQUET) {
        /* workers read their row ranges themselves, whatever the transport */
        if (!ld->pq[d->file])
            MS_CHECK(ms_pq_input_open(ld->in, d->file, &ld->pq[d->file], err));
        return ms_pq_input_read(ld->pq[d->file], (uint64_t)d->offset, d->n_rows, b, err);
    }
    if (f->kind == MS_IN_HDF5) {
        if (!ld->h5[d->file]) {
            ms_h5_open_opts o = {.dataset = ld->in->dataset,
                                 .names = f->col_names,
                                 .n_names = f->n_cols,
                                 .planned = 1,
                                 .id_dataset = ld->in->id_dataset,
                                 .keep = ld->in->keep_names,
                                 .n_keep = ld->in->n_keep};
            MS_CHECK(ms_h5_input_open_opts(f->path, &o, &ld->h5[d->file], err));
        }
        return ms_h5_input_read(ld->h5[d->file], (uint64_t)d->offset, d->n_rows, f->col_feature,
                                ld->in->allow_missing, b, err);
    }
    if (!bytes) {
        MS_CHECK(ms_loader_read_bytes(ld, d, &ld->buf, &ld->cap, err));
        bytes = ld->buf;
    }
    ms_csv_layout lay = {
        .delim = ld->in->delim,
        .n_cols = f->n_cols,
        .col_feature = f->col_feature,
        .id_col = f->id_col,
        .n_features = ld->in->n_features,
        .allow_missing = ld->in->allow_missing,
        .file = f->path,
        .col_names = f->col_names,
    };
    st = ms_csv_parse_chunk_keep(bytes, d->length, d->first_line, &lay, f->keep_col, b, err);
done:
    return st;
}

int ms_loader_files_visible(const ms_inputs *in)
{
    for (size_t i = 0; i < in->n_files; i++) {
        struct stat stt;
        if (stat(in->files[i].path, &stt) != 0 || (int64_t)stt.st_size != in->files[i].size ||
            access(in->files[i].path, R_OK) != 0)
            return 0;
    }
    return 1;
}

void ms_loader_destroy(ms_loader *ld)
{
    if (!ld)
        return;
    for (size_t i = 0; ld->fds && i < ld->in->n_files; i++)
        if (ld->fds[i] >= 0)
            close(ld->fds[i]);
    for (size_t i = 0; ld->h5 && ld->in && i < ld->in->n_files; i++)
        ms_h5_input_close(ld->h5[i]);
    for (size_t i = 0; ld->pq && ld->in && i < ld->in->n_files; i++)
        ms_pq_input_close(ld->pq[i]);
    free(ld->fds);
    free(ld->h5);
    free(ld->pq);
    free(ld->buf);
    free(ld);
}
