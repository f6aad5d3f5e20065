/*
 * output.c — output formatting (run on every rank) and the writers (run on
 * the coordinator only).
 *
 * Invariants:
 *  - rows leave the writer in the order they are appended, and the
 *    coordinator appends in input order;
 *  - nothing exists under the final name until ms_writer_commit, which
 *    fsyncs the data and renames OUTPUT.partial onto OUTPUT;
 *  - the bytes written depend only on the rows, never on how they were
 *    split into batches (HDF5 files carry no timestamps and are written
 *    chunk by chunk in the same order whatever the batch sizes);
 *  - every input row gives exactly one CSV record, never a blank line
 *    (readers skip those, which would shift every later row up by one).
 * Formatting allocates only when the caller's buffer has to grow; the HDF5
 * writer's pending-chunk buffers are allocated once and reused.
 */
#include "mpiscore/output.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpiscore/floatconv.h"
#include "mpiscore/kernels.h"
#include "mpiscore/parquet.h"

ms_status ms_out_format_pick(const char *format_opt, const char *path, ms_out_format *fmt,
                             ms_error *err)
{
    if (format_opt) {
        if (!strcasecmp(format_opt, "csv"))
            *fmt = MS_FMT_CSV;
        else if (!strcasecmp(format_opt, "hdf5") || !strcasecmp(format_opt, "h5"))
            *fmt = MS_FMT_HDF5;
        else if (!strcasecmp(format_opt, "parquet"))
            *fmt = MS_FMT_PARQUET;
        else
            return ms_error_set(err, MS_EUSAGE, "--format %s: expected csv, hdf5 or parquet",
                                format_opt);
        return MS_OK;
    }
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash)) {
        if (!strcasecmp(dot, ".csv") || !strcasecmp(dot, ".txt") || !strcasecmp(dot, ".tsv")) {
            *fmt = MS_FMT_CSV;
            return MS_OK;
        }
        if (!strcasecmp(dot, ".h5") || !strcasecmp(dot, ".hdf5")) {
            *fmt = MS_FMT_HDF5;
            return MS_OK;
        }
        if (!strcasecmp(dot, ".parquet") || !strcasecmp(dot, ".pq")) {
            *fmt = MS_FMT_PARQUET;
            return MS_OK;
        }
    }
    return ms_error_set(err, MS_EUSAGE,
                        "%s: cannot tell the output format from the extension; use --format "
                        "csv|hdf5|parquet",
                        path);
}

/* ---- formatting ----------------------------------------------------------- */

static ms_status append(char **buf, size_t *len, size_t *cap, const char *s, size_t n,
                        ms_error *err)
{
    ms_status st = ms_buf_reserve(buf, cap, *len + n, err);
    if (st != MS_OK)
        return st;
    memcpy(*buf + *len, s, n);
    *len += n;
    return MS_OK;
}

ms_status ms_format_csv_header_spec(const ms_model *m, const ms_out_spec *spec, char **buf,
                                    size_t *len, size_t *cap, ms_error *err)
{
    ms_status st = MS_OK;
    int first = 1;
    if (spec->id_name) {
        MS_CHECK(ms_csv_append_field(buf, len, cap, spec->id_name, strlen(spec->id_name), err));
        first = 0;
    }
    for (size_t k = 0; k < spec->n_keep; k++) {
        if (!first)
            MS_CHECK(append(buf, len, cap, ",", 1, err));
        first = 0;
        MS_CHECK(ms_csv_append_field(buf, len, cap, spec->keep_names[k],
                                     strlen(spec->keep_names[k]), err));
    }
    for (size_t k = 0; k < m->n_outputs; k++) {
        if (!first)
            MS_CHECK(append(buf, len, cap, ",", 1, err));
        first = 0;
        MS_CHECK(ms_csv_append_field(buf, len, cap, m->output_names[k], strlen(m->output_names[k]),
                                     err));
    }
    if (m->n_classes)
        MS_CHECK(append(buf, len, cap, first ? "label" : ",label", first ? 5 : 6, err));
    MS_CHECK(append(buf, len, cap, "\n", 1, err));
done:
    return st;
}

ms_status ms_format_csv_header(const ms_model *m, const char *id_name, char **buf, size_t *len,
                               size_t *cap, ms_error *err)
{
    ms_out_spec spec = {.id_name = id_name};
    return ms_format_csv_header_spec(m, &spec, buf, len, cap, err);
}

ms_status ms_format_csv_rows(const ms_model *m, const ms_batch *b, const double *out,
                             ms_precision prec, char **buf, size_t *len, size_t *cap, ms_error *err)
{
    ms_status st = MS_OK;
    size_t max_label = 0;
    for (size_t c = 0; c < m->n_classes; c++) {
        size_t l = strlen(m->class_labels[c]);
        if (l > max_label)
            max_label = l;
    }
    for (size_t r = 0; r < b->n_rows; r++) {
        size_t id_n = b->has_ids ? b->id_off[r + 1] - b->id_off[r] : 0;
        /* worst case for the row: quoted id, kept texts and label, every
         * value at full width */
        size_t need = 2 * id_n + 3 + m->n_outputs * (MS_F64_TEXT_MAX + 1) + 2 * max_label + 4;
        for (size_t k = 0; k < b->n_keep; k++)
            need += 2 * (b->keep[k].off[r + 1] - b->keep[k].off[r]) + 3;
        MS_CHECK(ms_buf_reserve(buf, cap, *len + need, err));
        size_t line = *len;
        int first = 1;
        if (b->has_ids) {
            MS_CHECK(ms_csv_append_field(buf, len, cap, b->id_text + b->id_off[r], id_n, err));
            first = 0;
        }
        for (size_t k = 0; k < b->n_keep; k++) {
            const ms_textcol *t = &b->keep[k];
            if (!first)
                (*buf)[(*len)++] = ',';
            first = 0;
            MS_CHECK(ms_csv_append_field(buf, len, cap, t->text + t->off[r],
                                         t->off[r + 1] - t->off[r], err));
        }
        const double *row = out + r * m->n_outputs;
        char *p = *buf + *len;
        for (size_t k = 0; k < m->n_outputs; k++) {
            if (!first)
                *p++ = ',';
            first = 0;
            if (!b->bad[r])
                p += prec == MS_PREC_F64 ? ms_format_f64(row[k], p)
                                         : ms_format_f32((float)row[k], p);
        }
        *len = (size_t)(p - *buf);
        if (m->n_classes) {
            if (!first)
                (*buf)[(*len)++] = ',';
            if (!b->bad[r]) {
                const char *lab = m->class_labels[ms_predict_label64(m, row)];
                MS_CHECK(ms_csv_append_field(buf, len, cap, lab, strlen(lab), err));
            }
        }
        /* A one-column file (no id, no label) would get an empty line for a bad
         * row; a quoted empty field keeps it a record. */
        if (*len == line) {
            (*buf)[(*len)++] = '"';
            (*buf)[(*len)++] = '"';
        }
        (*buf)[(*len)++] = '\n';
    }
done:
    return st;
}

/* n + 1 offsets into a text column, then (for kept columns) n null flags,
 * then the text. */
static char *pack_text(char *p, size_t n, const size_t *off, const char *text, const uint8_t *null)
{
    for (size_t r = 0; r <= n; r++) {
        uint64_t o = off[r];
        memcpy(p, &o, sizeof o);
        p += sizeof o;
    }
    if (null) {
        memcpy(p, null, n);
        p += n;
    }
    if (off[n])
        memcpy(p, text, off[n]);
    return p + off[n];
}

ms_status ms_pack_rows(const ms_model *m, const ms_batch *b, const double *out, ms_precision prec,
                       char **buf, size_t *len, size_t *cap, ms_error *err)
{
    size_t n = b->n_rows, k = m->n_outputs,
           vs = prec == MS_PREC_F64 ? sizeof(double) : sizeof(float);
    size_t need = n * k * vs + (m->n_classes ? n * sizeof(int32_t) : 0) +
                  (b->has_ids ? (n + 1) * sizeof(uint64_t) + b->id_off[n] : 0) + n;
    for (size_t j = 0; j < b->n_keep; j++)
        need += (n + 1) * sizeof(uint64_t) + n + b->keep[j].off[n];
    ms_status st = ms_buf_reserve(buf, cap, *len + need, err);
    if (st != MS_OK)
        return st;
    char *p = *buf + *len;
    for (size_t r = 0; r < n; r++) {
        for (size_t j = 0; j < k; j++) {
            double d = b->bad[r] ? NAN : out[r * k + j];
            float f = (float)d;
            memcpy(p, vs == sizeof d ? (const void *)&d : (const void *)&f, vs);
            p += vs;
        }
    }
    if (m->n_classes) {
        for (size_t r = 0; r < n; r++) {
            int32_t l = b->bad[r] ? -1 : (int32_t)ms_predict_label64(m, out + r * k);
            memcpy(p, &l, sizeof l);
            p += sizeof l;
        }
    }
    if (b->has_ids)
        p = pack_text(p, n, b->id_off, b->id_text, NULL);
    for (size_t j = 0; j < b->n_keep; j++)
        p = pack_text(p, n, b->keep[j].off, b->keep[j].text, b->keep[j].null);
    for (size_t r = 0; r < n; r++)
        *p++ = (char)(b->bad[r] != 0);
    *len = (size_t)(p - *buf);
    return MS_OK;
}

/* ---- packed rows, read back by the writers -------------------------------- */

/* A text column of packed rows: n + 1 offsets (unaligned), flags, text. */
typedef struct packed_text {
    const char *off;
    const uint8_t *null; /* NULL: none are null (the id) */
    const char *text;
} packed_text;

static uint64_t packed_off(const packed_text *t, size_t r)
{
    uint64_t o;
    memcpy(&o, t->off + r * sizeof o, sizeof o);
    return o;
}

/* Walk a text column at *p (of end - *p bytes), checking its offsets. */
static int unpack_text(const char **p, const char *end, size_t n, int has_null, packed_text *t)
{
    size_t head = (n + 1) * sizeof(uint64_t) + (has_null ? n : 0);
    if ((size_t)(end - *p) < head)
        return -1;
    t->off = *p;
    t->null = has_null ? (const uint8_t *)*p + (n + 1) * sizeof(uint64_t) : NULL;
    t->text = *p + head;
    uint64_t prev = 0;
    for (size_t r = 0; r <= n; r++) {
        uint64_t o = packed_off(t, r);
        if (o < prev || (r == 0 && o != 0))
            return -2;
        prev = o;
    }
    if ((uint64_t)(end - t->text) < prev)
        return -2;
    *p = t->text + prev;
    return 0;
}

typedef struct packed {
    const char *vals;
    const char *labels; /* int32 per row, or NULL */
    packed_text id;     /* when has_ids */
    packed_text *keep;  /* n_keep, the caller's */
    const uint8_t *bad;
} packed;

/* Split an ms_pack_rows buffer of n rows. The layout must match the writer
 * exactly (ids and kept columns as it was opened with): a mismatch is a bug
 * upstream, refused before anything is taken, so a refused append adds no
 * rows. */
static ms_status unpack(const ms_model *m, size_t vs, int has_ids, size_t n_keep, const char *data,
                        size_t len, size_t n, packed *pk, ms_error *err)
{
    const char *p = data, *end = data + len;
    size_t fixed = n * m->n_outputs * vs + (m->n_classes ? n * sizeof(int32_t) : 0) + n;
    if (has_ids)
        fixed += (n + 1) * sizeof(uint64_t);
    fixed += n_keep * ((n + 1) * sizeof(uint64_t) + n);
    if (len < fixed)
        return ms_error_set(err, MS_EINTERNAL, "packed rows: %zu bytes for %zu rows, expected %zu",
                            len, n, fixed);
    pk->vals = p;
    pk->labels = m->n_classes ? p + n * m->n_outputs * vs : NULL;
    p += n * m->n_outputs * vs + (m->n_classes ? n * sizeof(int32_t) : 0);
    int bad = 0;
    if (has_ids)
        bad = unpack_text(&p, end, n, 0, &pk->id);
    for (size_t k = 0; k < n_keep && !bad; k++)
        bad = unpack_text(&p, end, n, 1, &pk->keep[k]);
    if (bad)
        return ms_error_set(err, MS_EINTERNAL, "packed rows: text offsets out of order");
    if ((size_t)(end - p) != n)
        return ms_error_set(err, MS_EINTERNAL, "packed rows: %zu bytes for %zu rows, expected %zu",
                            len, n, len - (size_t)(end - p) + n);
    pk->bad = (const uint8_t *)p;
    return MS_OK;
}

/* ---- writers -------------------------------------------------------------- */

/* HDF5 rows are buffered and written one whole chunk at a time, so the file
 * layout does not depend on the batch boundaries; Parquet rows a whole row
 * group at a time, for the same reason. */
#define MS_H5_CHUNK 16384

/* A pending text column (the id, a kept column). HDF5 keeps each entry
 * NUL-terminated at off[i], and ptr[] points into text only while a chunk
 * is being written, as text may move when it grows; Parquet keeps them back
 * to back, entry i ending at off[i + 1]. */
typedef struct pend_text {
    char *text;
    size_t len, cap;
    uint64_t *off; /* rows + 1 */
    uint8_t *null; /* rows */
    char **ptr;    /* HDF5 */
    hid_t d;       /* HDF5 dataset */
    ms_val_type type;
} pend_text;

struct ms_writer {
    ms_out_format fmt;
    char *path, *partial;
    const ms_model *m;
    ms_precision prec; /* of the values: HDF5 dataset type, packed rows */
    size_t vs;         /* bytes per packed value */
    uint64_t rows;
    uint64_t offset; /* CSV bytes written */
    int fd;          /* CSV */
    int lock_fd;     /* HDF5, Parquet: our own descriptor of the partial, holding its lock */
    int created;     /* the partial did not exist before this writer made it */
    /* HDF5 */
    hid_t file, d_pred, d_lab, t_str;
    int has_ids;
    size_t n_keep;
    /* The pending rows: appended but not yet written (HDF5: < MS_H5_CHUNK,
     * Parquet: < row_group_rows between appends). */
    char *pv;         /* values, vs bytes each, row-major */
    int32_t *pl;      /* labels (class index, -1 bad) */
    uint8_t *pbad;    /* bad-row flags */
    pend_text *pt;    /* has_ids + n_keep text columns, the id first */
    size_t pn, pcap;  /* rows pending, rows the buffers hold */
    uint64_t h5_rows; /* rows already in the file */
    /* Parquet */
    ms_pq_writer *pq;
    ms_pqw_column *pq_cols;
    char **pq_names;
    size_t pq_ncols;
    ms_pq_codec pq_codec;
    uint64_t rg_rows; /* rows per row group */
    uint64_t *rg_end; /* rg_end[g]: file offset after g row groups (0: unknown) */
    size_t rg_cap;
    uint64_t pq_skip;   /* resumed: rows still to drop before appending */
    int label_int;      /* class labels are all integers: an INT64 label column */
    int64_t *label_val; /* n_classes: their values */
    /* one row group's columns as the Parquet writer takes them */
    void **cbuf;
    size_t *ccap;
    uint8_t **cvalid;
    uint64_t *soff; /* the label column's string offsets */
    size_t soff_cap;
};

ms_status ms_output_check_target(const char *path, int overwrite, ms_error *err)
{
    struct stat st;
    char *copy = strdup(path);
    if (!copy)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    char *dir = dirname(copy);
    ms_status rc = MS_OK;
    if (stat(dir, &st) != 0)
        rc = ms_error_set(err, MS_EIO, "%s: folder %s does not exist", path, dir);
    else if (!S_ISDIR(st.st_mode))
        rc = ms_error_set(err, MS_EIO, "%s: %s is not a folder", path, dir);
    free(copy);
    if (rc != MS_OK)
        return rc;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return ms_error_set(err, MS_EIO, "%s: is a folder", path);
        if (!overwrite)
            return ms_error_set(err, MS_EIO, "%s: already exists (use --overwrite to replace it)",
                                path);
    }
    return MS_OK;
}

static ms_status write_all(ms_writer *w, const char *data, size_t len, ms_error *err)
{
    while (len > 0) {
        ssize_t n = write(w->fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ms_error_set(err, MS_EIO, "%s: %s", w->partial, strerror(errno));
        data += n;
        len -= (size_t)n;
        w->offset += (uint64_t)n;
    }
    return MS_OK;
}

static hid_t make_2d(hid_t file, const char *name, hid_t type, hsize_t cols)
{
    hsize_t dims[2] = {0, cols}, maxd[2] = {H5S_UNLIMITED, cols}, chunk[2] = {MS_H5_CHUNK, cols};
    hid_t space = H5Screate_simple(cols ? 2 : 1, dims, maxd);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, cols ? 2 : 1, chunk);
    H5Pset_obj_track_times(dcpl, 0);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_INCR);
    /* Whole chunks are written at once, so a chunk cache only holds dirty
     * data back: without it a failed write (disk full) fails right there,
     * not again in the close. */
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    H5Pset_chunk_cache(dapl, 0, 0, H5D_CHUNK_CACHE_W0_DEFAULT);
    hid_t d = H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, dapl);
    H5Pclose(dapl);
    H5Pclose(dcpl);
    H5Sclose(space);
    return d;
}

static int set_str_attr(hid_t obj, const char *name, char **vals, size_t n, hid_t t_str)
{
    hsize_t dims[1] = {n};
    hid_t space = n ? H5Screate_simple(1, dims, NULL) : H5Screate(H5S_NULL);
    hid_t a = H5Acreate2(obj, name, t_str, space, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 ? -1 : (n ? H5Awrite(a, t_str, vals) : 0);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    return rc;
}

static ms_status h5_open(ms_writer *w, const ms_out_spec *spec, ms_error *err)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl, 0);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_V18);
    /* the partial is locked through w->lock_fd already; libhdf5's own flock
     * on a second descriptor of it would conflict with ours */
    H5Pset_file_locking(fapl, 0, 1);
    w->file = H5Fcreate(w->partial, H5F_ACC_TRUNC, fcpl, fapl);
    H5Pclose(fcpl);
    H5Pclose(fapl);
    if (w->file < 0)
        return ms_error_set(err, MS_EIO, "%s: cannot create HDF5 file (%s)", w->partial,
                            errno ? strerror(errno) : "HDF5 error");
    w->t_str = H5Tcopy(H5T_C_S1);
    H5Tset_size(w->t_str, H5T_VARIABLE);
    H5Tset_cset(w->t_str, H5T_CSET_UTF8);
    const ms_model *m = w->m;
    w->d_pred = make_2d(w->file, "predictions",
                        w->prec == MS_PREC_F64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE, m->n_outputs);
    if (w->d_pred < 0 ||
        set_str_attr(w->d_pred, "output_names", m->output_names, m->n_outputs, w->t_str) < 0)
        goto fail;
    w->d_lab = H5I_INVALID_HID;
    if (m->n_classes) {
        w->d_lab = make_2d(w->file, "labels", H5T_STD_I32LE, 0);
        if (w->d_lab < 0 ||
            set_str_attr(w->d_lab, "class_labels", m->class_labels, m->n_classes, w->t_str) < 0)
            goto fail;
    }
    for (size_t t = 0; t < (size_t)w->has_ids + w->n_keep; t++) {
        int is_id = w->has_ids && t == 0;
        const char *name = is_id ? "ids" : spec->keep_names[t - (size_t)w->has_ids];
        w->pt[t].d = make_2d(w->file, name, w->t_str, 0);
        if (w->pt[t].d < 0)
            goto fail;
    }
    if (w->has_ids) {
        char *names[1] = {(char *)spec->id_name};
        if (set_str_attr(w->file, "id_name", names, 1, w->t_str) < 0)
            goto fail;
    }
    /* the kept datasets' order, as --keep-columns gave it */
    if (w->n_keep &&
        set_str_attr(w->file, "kept_columns", (char **)spec->keep_names, w->n_keep, w->t_str) < 0)
        goto fail;
    return MS_OK;
fail:
    return ms_error_set(err, MS_EIO, "%s: cannot create HDF5 datasets", w->partial);
}

/* HDF5's error stack records the failing system call's errno in the text
 * of its lowest entry ("..., errno = 28, error message = ..."). The next
 * API call clears the stack, so it is read right after the failure. */
static herr_t h5_errno_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    const char *at = e->desc ? strstr(e->desc, "errno = ") : NULL;
    if (at && *(int *)data == 0)
        *(int *)data = atoi(at + strlen("errno = "));
    return 0;
}

static int h5_stack_errno(void)
{
    int e = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, h5_errno_cb, &e);
    return e;
}

/* A failed HDF5 write or flush, with the system's reason when HDF5 kept it. */
static ms_status h5_io_error(const ms_writer *w, const char *what, int sys_errno, ms_error *err)
{
    if (sys_errno > 0)
        return ms_error_set(err, MS_EIO, "%s: %s", w->partial, strerror(sys_errno));
    return ms_error_set(err, MS_EIO, "%s: HDF5 %s failed (disk full?)", w->partial, what);
}

/* Returns 0, or -1 with *sys_errno set (0 when HDF5 did not say). */
static int h5_extend_write(hid_t d, hid_t memtype, uint64_t at, size_t n, size_t cols,
                           const void *data, int *sys_errno)
{
    int rank = cols ? 2 : 1;
    hsize_t size[2] = {at + n, cols}, start[2] = {at, 0}, count[2] = {n, cols};
    if (H5Dset_extent(d, size) < 0) {
        *sys_errno = h5_stack_errno();
        return -1;
    }
    hid_t fs = H5Dget_space(d);
    hid_t ms = H5Screate_simple(rank, count, NULL);
    int rc = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ? -1 : 0;
    if (rc == 0 && H5Dwrite(d, memtype, ms, fs, H5P_DEFAULT, data) < 0) {
        *sys_errno = h5_stack_errno();
        rc = -1;
    }
    H5Sclose(ms);
    H5Sclose(fs);
    return rc;
}

static void pend_clear(ms_writer *w);

static ms_status h5_flush(ms_writer *w, ms_error *err)
{
    if (w->pn == 0)
        return MS_OK;
    int sys_errno = 0;
    int rc =
        h5_extend_write(w->d_pred, w->prec == MS_PREC_F64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT,
                        w->h5_rows, w->pn, w->m->n_outputs, w->pv, &sys_errno);
    if (rc == 0 && w->d_lab >= 0)
        rc = h5_extend_write(w->d_lab, H5T_NATIVE_INT32, w->h5_rows, w->pn, 0, w->pl, &sys_errno);
    for (size_t t = 0; rc == 0 && t < (size_t)w->has_ids + w->n_keep; t++) {
        pend_text *pt = &w->pt[t];
        for (size_t i = 0; i < w->pn; i++)
            pt->ptr[i] = pt->text + pt->off[i];
        rc = h5_extend_write(pt->d, w->t_str, w->h5_rows, w->pn, 0, pt->ptr, &sys_errno);
    }
    w->h5_rows += w->pn;
    pend_clear(w);
    if (rc < 0)
        return h5_io_error(w, "write", sys_errno, err);
    return MS_OK;
}

static void pend_clear(ms_writer *w)
{
    w->pn = 0;
    for (size_t t = 0; t < (size_t)w->has_ids + w->n_keep; t++) {
        w->pt[t].len = 0;
        w->pt[t].off[0] = 0;
    }
}

/* Room for rows more pending rows (the buffers only grow). */
static ms_status pend_reserve(ms_writer *w, size_t rows, ms_error *err)
{
    size_t need = w->pn + rows;
    if (need <= w->pcap)
        return MS_OK;
    size_t nc = w->pcap ? w->pcap : 1024;
    while (nc < need)
        nc *= 2;
    size_t k = w->m->n_outputs ? w->m->n_outputs : 1;
    char *pv = realloc(w->pv, nc * k * w->vs);
    if (pv)
        w->pv = pv;
    int32_t *pl = pv ? realloc(w->pl, nc * sizeof *pl) : NULL;
    if (pl)
        w->pl = pl;
    uint8_t *pb = pl ? realloc(w->pbad, nc) : NULL;
    if (pb)
        w->pbad = pb;
    int ok = pb != NULL;
    for (size_t t = 0; ok && t < (size_t)w->has_ids + w->n_keep; t++) {
        pend_text *pt = &w->pt[t];
        uint64_t *off = realloc(pt->off, (nc + 1) * sizeof *off);
        if (off) {
            if (!pt->off)
                off[0] = 0;
            pt->off = off;
        }
        uint8_t *nl = off ? realloc(pt->null, nc) : NULL;
        if (nl)
            pt->null = nl;
        char **ptr = nl ? realloc(pt->ptr, nc * sizeof *ptr) : NULL;
        if (ptr)
            pt->ptr = ptr;
        ok = ptr != NULL;
    }
    if (!ok)
        return ms_error_set(err, MS_EINTERNAL, "out of memory (%zu pending output rows)", nc);
    w->pcap = nc;
    return MS_OK;
}

/* Rows [r, r + take) of packed rows into the pending buffers. */
static ms_status pend_take(ms_writer *w, const packed *pk, size_t r, size_t take, ms_error *err)
{
    const ms_model *m = w->m;
    size_t k = m->n_outputs;
    int nul = w->fmt == MS_FMT_HDF5; /* HDF5 wants C strings */
    ms_status st0 = pend_reserve(w, take, err);
    if (st0 != MS_OK)
        return st0;
    memcpy(w->pv + w->pn * k * w->vs, pk->vals + r * k * w->vs, take * k * w->vs);
    if (m->n_classes)
        memcpy(w->pl + w->pn, pk->labels + r * sizeof(int32_t), take * sizeof(int32_t));
    memcpy(w->pbad + w->pn, pk->bad + r, take);
    for (size_t t = 0; t < (size_t)w->has_ids + w->n_keep; t++) {
        pend_text *pt = &w->pt[t];
        const packed_text *src = w->has_ids && t == 0 ? &pk->id : &pk->keep[t - (size_t)w->has_ids];
        uint64_t a = packed_off(src, r), b = packed_off(src, r + take);
        ms_status st = ms_buf_reserve(&pt->text, &pt->cap, pt->len + (b - a) + take + 1, err);
        if (st != MS_OK)
            return st;
        for (size_t i = 0; i < take; i++) {
            uint64_t s0 = packed_off(src, r + i), e0 = packed_off(src, r + i + 1);
            if (nul)
                pt->off[w->pn + i] = pt->len;
            if (e0 > s0)
                memcpy(pt->text + pt->len, src->text + s0, (size_t)(e0 - s0));
            pt->len += (size_t)(e0 - s0);
            if (nul)
                pt->text[pt->len++] = '\0';
            else
                pt->off[w->pn + i + 1] = pt->len;
            pt->null[w->pn + i] = src->null ? src->null[r + i] : 0;
        }
    }
    w->pn += take;
    return MS_OK;
}

static ms_status pq_flush(ms_writer *w, ms_error *err);

/* Take n packed rows, writing each HDF5 chunk / Parquet row group as it
 * fills. */
static ms_status pend_append(ms_writer *w, const char *data, size_t len, size_t n, ms_error *err)
{
    packed pk;
    packed_text keep_stack[8], *keep = keep_stack;
    if (w->n_keep > 8 && !(keep = malloc(w->n_keep * sizeof *keep)))
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    pk.keep = keep;
    ms_status st = unpack(w->m, w->vs, w->has_ids, w->n_keep, data, len, n, &pk, err);
    uint64_t chunk = w->fmt == MS_FMT_HDF5 ? MS_H5_CHUNK : w->rg_rows;
    size_t r = 0;
    if (st == MS_OK && w->pq_skip) { /* resumed: these rows are in the file already */
        r = n < w->pq_skip ? n : (size_t)w->pq_skip;
        w->pq_skip -= r;
    }
    while (st == MS_OK && r < n) {
        size_t take = n - r < chunk - w->pn ? n - r : (size_t)(chunk - w->pn);
        st = pend_take(w, &pk, r, take, err);
        r += take;
        if (st == MS_OK && w->pn == chunk)
            st = w->fmt == MS_FMT_HDF5 ? h5_flush(w, err) : pq_flush(w, err);
    }
    if (keep != keep_stack)
        free(keep);
    return st;
}

static void h5_close(ms_writer *w)
{
    if (w->d_pred > 0)
        H5Dclose(w->d_pred);
    if (w->d_lab > 0)
        H5Dclose(w->d_lab);
    for (size_t t = 0; w->pt && t < (size_t)w->has_ids + w->n_keep; t++) {
        if (w->pt[t].d > 0)
            H5Dclose(w->pt[t].d);
        w->pt[t].d = H5I_INVALID_HID;
    }
    if (w->t_str > 0)
        H5Tclose(w->t_str);
    if (w->file > 0)
        H5Fclose(w->file);
    w->file = w->d_pred = w->d_lab = w->t_str = H5I_INVALID_HID;
}

/* Close an HDF5 output that is being thrown away. HDF5 1.10 leaves a file
 * whose close failed (its last metadata flush hit ENOSPC, say) half torn
 * down, and the library's exit handler then crashes on it. So the file is
 * emptied first, giving its space back for the few blocks the close still
 * writes; its contents are not wanted anyway. */
static void h5_discard(ms_writer *w)
{
    void *handle = NULL;
    if (w->file > 0 && H5Fget_vfd_handle(w->file, H5P_DEFAULT, &handle) >= 0 && handle &&
        ftruncate(*(int *)handle, 0) != 0) {
        /* nothing better to do: the close below still runs */
    }
    h5_close(w);
}

static void writer_free(ms_writer *w)
{
    if (w->lock_fd >= 0)
        close(w->lock_fd);
    ms_pq_writer_abort(w->pq);
    free(w->path);
    free(w->partial);
    free(w->pv);
    free(w->pl);
    free(w->pbad);
    for (size_t t = 0; w->pt && t < (size_t)w->has_ids + w->n_keep; t++) {
        free(w->pt[t].text);
        free(w->pt[t].off);
        free(w->pt[t].null);
        free(w->pt[t].ptr);
    }
    free(w->pt);
    for (size_t c = 0; w->pq_names && c < w->pq_ncols; c++)
        free(w->pq_names[c]);
    free(w->pq_names);
    free(w->pq_cols);
    free(w->rg_end);
    free(w->label_val);
    for (size_t c = 0; w->cbuf && c < w->pq_ncols; c++) {
        free(w->cbuf[c]);
        free(w->cvalid[c]);
    }
    free(w->cbuf);
    free(w->ccap);
    free(w->cvalid);
    free(w->soff);
    free(w);
}

/* Empty a regular file (what O_TRUNC would have done; devices are left). */
static int truncate_regular(int fd)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return -1;
    return S_ISREG(sb.st_mode) ? ftruncate(fd, 0) : 0;
}

/* Exclusive, non-blocking lock on the open partial file, held until close. */
static ms_status lock_partial(const ms_writer *w, int fd, ms_error *err)
{
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return MS_OK;
    if (errno == EWOULDBLOCK)
        return ms_error_set(err, MS_EIO, "%s: another mpiscore run is writing this output",
                            w->partial);
    return ms_error_set(err, MS_EIO, "%s: %s", w->partial, strerror(errno));
}

/* Open (creating it if need be) and lock the partial file into *fd. On a
 * lock held by another run nothing is changed: a partial this call created
 * is removed again, an existing one is left as it was. */
static ms_status open_locked(ms_writer *w, int *fd, ms_error *err)
{
    *fd = open(w->partial, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (*fd >= 0)
        w->created = 1;
    else if (errno == EEXIST)
        *fd = open(w->partial, O_WRONLY | O_CLOEXEC);
    if (*fd < 0 && w->fmt == MS_FMT_HDF5)
        return ms_error_set(err, MS_EIO, "%s: cannot create HDF5 file (%s)", w->partial,
                            strerror(errno));
    if (*fd < 0)
        return ms_error_set(err, MS_EIO, "%s: %s", w->partial, strerror(errno));
    ms_status st = lock_partial(w, *fd, err);
    if (st != MS_OK) {
        close(*fd);
        *fd = -1;
        if (w->created)
            unlink(w->partial);
        w->created = 0;
    }
    return st;
}

/* A writer for path with its ".partial" name, nothing opened yet. */
static ms_writer *writer_new(const char *path, ms_out_format fmt, const ms_model *m)
{
    ms_writer *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->fmt = fmt;
    w->m = m;
    w->vs = sizeof(float);
    w->fd = -1;
    w->lock_fd = -1;
    w->file = w->d_pred = w->d_lab = w->t_str = H5I_INVALID_HID;
    size_t plen = strlen(path) + sizeof ".partial";
    w->path = strdup(path);
    w->partial = malloc(plen);
    if (!w->path || !w->partial) {
        writer_free(w);
        return NULL;
    }
    snprintf(w->partial, plen, "%s.partial", path);
    return w;
}

/* ---- Parquet --------------------------------------------------------------- */

static ms_pqw_type pq_type_of(ms_val_type t)
{
    switch (t) {
    case MS_VAL_INT64:
        return MS_PQW_INT64;
    case MS_VAL_DOUBLE:
        return MS_PQW_DOUBLE;
    case MS_VAL_FLOAT:
        return MS_PQW_FLOAT;
    case MS_VAL_BOOL:
        return MS_PQW_BOOLEAN;
    default:
        return MS_PQW_STRING;
    }
}

/* Whether s is a whole decimal int64 (what an integer class label reads as). */
static int parse_i64(const char *s, size_t n, int64_t *v)
{
    char tmp[32];
    if (n == 0 || n >= sizeof tmp)
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    long long x = strtoll(tmp, &end, 10);
    if (errno || *end || !(tmp[0] == '-' || (tmp[0] >= '0' && tmp[0] <= '9')))
        return 0;
    *v = (int64_t)x;
    return 1;
}

/* The schema: id, kept columns, outputs, label. Every column is OPTIONAL:
 * a bad row's outputs are null, and a typed kept value may be. */
static ms_status pq_schema(ms_writer *w, const ms_out_spec *spec, ms_error *err)
{
    const ms_model *m = w->m;
    size_t nt = (size_t)w->has_ids + w->n_keep;
    w->pq_ncols = nt + m->n_outputs + (m->n_classes ? 1 : 0);
    w->pq_cols = calloc(w->pq_ncols, sizeof *w->pq_cols);
    w->pq_names = calloc(w->pq_ncols, sizeof *w->pq_names);
    w->cbuf = calloc(w->pq_ncols, sizeof *w->cbuf);
    w->ccap = calloc(w->pq_ncols, sizeof *w->ccap);
    w->cvalid = calloc(w->pq_ncols, sizeof *w->cvalid);
    if (m->n_classes)
        w->label_val = calloc(m->n_classes, sizeof *w->label_val);
    if (!w->pq_cols || !w->pq_names || !w->cbuf || !w->ccap || !w->cvalid ||
        (m->n_classes && !w->label_val))
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    w->label_int = m->n_classes > 0;
    for (size_t c = 0; c < m->n_classes; c++)
        w->label_int &= parse_i64(m->class_labels[c], strlen(m->class_labels[c]), &w->label_val[c]);
    for (size_t c = 0; c < w->pq_ncols; c++) {
        const char *name;
        ms_pqw_type type;
        if (c < nt) {
            name = w->has_ids && c == 0 ? spec->id_name : spec->keep_names[c - (size_t)w->has_ids];
            type = pq_type_of(w->pt[c].type);
        } else if (c < nt + m->n_outputs) {
            name = m->output_names[c - nt];
            type = w->prec == MS_PREC_F64 ? MS_PQW_DOUBLE : MS_PQW_FLOAT;
        } else {
            name = "label";
            type = w->label_int ? MS_PQW_INT64 : MS_PQW_STRING;
        }
        if (!(w->pq_names[c] = strdup(name)))
            return ms_error_set(err, MS_EINTERNAL, "out of memory");
        w->pq_cols[c] = (ms_pqw_column){w->pq_names[c], type, 1};
    }
    return MS_OK;
}

static ms_status pq_col_reserve(ms_writer *w, size_t c, size_t bytes, size_t n, ms_error *err)
{
    ms_status st = ms_buf_reserve((char **)&w->cbuf[c], &w->ccap[c], bytes ? bytes : 1, err);
    if (st != MS_OK)
        return st;
    uint8_t *v = realloc(w->cvalid[c], n ? n : 1);
    if (!v)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    w->cvalid[c] = v;
    return MS_OK;
}

/* A kept value's text as its column's type; 0 when it does not read as one
 * (then it is written as a null). */
static int pq_typed(ms_val_type t, const char *s, size_t n, void *out)
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp)
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    switch (t) {
    case MS_VAL_INT64:
        return parse_i64(s, n, (int64_t *)out);
    case MS_VAL_DOUBLE:
        *(double *)out = strtod(tmp, &end);
        return *end == '\0';
    case MS_VAL_FLOAT:
        *(float *)out = strtof(tmp, &end);
        return *end == '\0';
    case MS_VAL_BOOL:
        *(uint8_t *)out = !strcmp(tmp, "true") || !strcmp(tmp, "1");
        return !strcmp(tmp, "true") || !strcmp(tmp, "false") || !strcmp(tmp, "1") ||
               !strcmp(tmp, "0");
    default:
        return 0;
    }
}

static size_t pq_size_of(ms_pqw_type t)
{
    return t == MS_PQW_INT64 || t == MS_PQW_DOUBLE ? 8 : t == MS_PQW_BOOLEAN ? 1 : 4;
}

/* Write the pending rows as one row group. */
static ms_status pq_flush(ms_writer *w, ms_error *err)
{
    ms_status st = MS_OK;
    size_t n = w->pn, nt = (size_t)w->has_ids + w->n_keep, k = w->m->n_outputs;
    ms_pqw_data *d = NULL;
    if (n == 0)
        return MS_OK;
    if (!(d = calloc(w->pq_ncols, sizeof *d)))
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    for (size_t c = 0; c < w->pq_ncols; c++) {
        ms_pqw_type type = w->pq_cols[c].type;
        if (c < nt) {
            pend_text *pt = &w->pt[c];
            MS_CHECK(pq_col_reserve(w, c, n * pq_size_of(type), n, err));
            for (size_t i = 0; i < n; i++) {
                const char *s = pt->text + pt->off[i];
                size_t len = (size_t)(pt->off[i + 1] - pt->off[i]);
                w->cvalid[c][i] =
                    !pt->null[i] &&
                    (type == MS_PQW_STRING ||
                     pq_typed(pt->type, s, len, (char *)w->cbuf[c] + i * pq_size_of(type)));
                if (!w->cvalid[c][i] && type != MS_PQW_STRING)
                    memset((char *)w->cbuf[c] + i * pq_size_of(type), 0, pq_size_of(type));
            }
            d[c].valid = w->cvalid[c];
            if (type == MS_PQW_STRING) {
                d[c].offsets = pt->off;
                d[c].bytes = pt->text;
            } else {
                d[c].values = w->cbuf[c];
            }
            continue;
        }
        MS_CHECK(pq_col_reserve(w, c, n * (c < nt + k ? w->vs : sizeof(int64_t)), n, err));
        for (size_t i = 0; i < n; i++)
            w->cvalid[c][i] = !w->pbad[i];
        d[c].valid = w->cvalid[c];
        if (c < nt + k) { /* an output: the values' column c - nt */
            size_t j = c - nt;
            for (size_t i = 0; i < n; i++)
                memcpy((char *)w->cbuf[c] + i * w->vs, w->pv + (i * k + j) * w->vs, w->vs);
            d[c].values = w->cbuf[c];
        } else if (w->label_int) {
            int64_t *v = w->cbuf[c];
            for (size_t i = 0; i < n; i++)
                v[i] = w->pl[i] >= 0 ? w->label_val[w->pl[i]] : 0;
            d[c].values = v;
        } else {
            size_t bytes = 0;
            for (size_t i = 0; i < n; i++)
                bytes += w->pl[i] >= 0 ? strlen(w->m->class_labels[w->pl[i]]) : 0;
            MS_CHECK(pq_col_reserve(w, c, bytes, n, err)); /* may move cvalid[c] */
            for (size_t i = 0; i < n; i++)
                w->cvalid[c][i] = !w->pbad[i];
            d[c].valid = w->cvalid[c];
            if (w->soff_cap < n + 1) {
                uint64_t *o = realloc(w->soff, (n + 1) * sizeof *o);
                if (!o) {
                    st = ms_error_set(err, MS_EINTERNAL, "out of memory");
                    goto done;
                }
                w->soff = o;
                w->soff_cap = n + 1;
            }
            char *b = w->cbuf[c];
            w->soff[0] = 0;
            for (size_t i = 0; i < n; i++) {
                size_t l = w->pl[i] >= 0 ? strlen(w->m->class_labels[w->pl[i]]) : 0;
                if (l)
                    memcpy(b + w->soff[i], w->m->class_labels[w->pl[i]], l);
                w->soff[i + 1] = w->soff[i] + l;
            }
            d[c].offsets = w->soff;
            d[c].bytes = b;
        }
    }
    MS_CHECK(ms_pq_writer_write(w->pq, n, d, err));
    ms_pq_wstate ws = ms_pq_writer_state(w->pq);
    if (ws.row_groups >= w->rg_cap) {
        size_t nc = w->rg_cap ? 2 * w->rg_cap : 64;
        while (nc <= ws.row_groups)
            nc *= 2;
        uint64_t *e = realloc(w->rg_end, nc * sizeof *e);
        if (!e) {
            st = ms_error_set(err, MS_EINTERNAL, "out of memory");
            goto done;
        }
        memset(e + w->rg_cap, 0, (nc - w->rg_cap) * sizeof *e);
        w->rg_end = e;
        w->rg_cap = nc;
    }
    w->rg_end[ws.row_groups] = ws.offset;
    pend_clear(w);
done:
    free(d);
    return st;
}

static ms_status pq_set_kv(ms_writer *w, const ms_out_spec *spec, ms_error *err)
{
    for (size_t i = 0; i < spec->n_kv; i++) {
        ms_status st = ms_pq_writer_set_kv(w->pq, spec->kv_keys[i], spec->kv_values[i], err);
        if (st != MS_OK)
            return st;
    }
    return MS_OK;
}

/* ---- opening ---------------------------------------------------------------- */

/* Names an output cannot take for a kept column. */
static ms_status check_keep_names(const ms_model *m, ms_out_format fmt, const ms_out_spec *spec,
                                  ms_error *err)
{
    for (size_t k = 0; k < spec->n_keep; k++) {
        const char *name = spec->keep_names[k];
        int clash = m->n_classes && !strcmp(name, "label");
        for (size_t j = 0; j < m->n_outputs && !clash; j++)
            clash = !strcmp(name, m->output_names[j]);
        if (clash)
            return ms_error_set(err, MS_EUSAGE,
                                "--keep-columns: \"%s\" is also an output column of the model",
                                name);
        if (fmt == MS_FMT_HDF5 &&
            (strchr(name, '/') || !strcmp(name, "predictions") || !strcmp(name, "labels") ||
             !strcmp(name, "ids") || !strcmp(name, ".") || !name[0]))
            return ms_error_set(err, MS_EUSAGE,
                                "--keep-columns: \"%s\" cannot be a dataset of the HDF5 output "
                                "(reserved name, or holds '/')",
                                name);
    }
    return MS_OK;
}

/* The writer's text columns (id first, then kept) and precision. */
static ms_status writer_setup(ms_writer *w, ms_precision prec, const ms_out_spec *spec,
                              ms_error *err)
{
    w->prec = prec;
    w->vs = prec == MS_PREC_F64 ? sizeof(double) : sizeof(float);
    w->has_ids = spec->id_name != NULL;
    w->n_keep = spec->n_keep;
    size_t nt = (size_t)w->has_ids + w->n_keep;
    if (nt && !(w->pt = calloc(nt, sizeof *w->pt)))
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    for (size_t t = 0; t < nt; t++) {
        w->pt[t].d = H5I_INVALID_HID;
        w->pt[t].type = w->has_ids && t == 0 ? spec->id_type
                        : spec->keep_type    ? spec->keep_type[t - (size_t)w->has_ids]
                                             : MS_VAL_TEXT;
    }
    w->pq_codec = spec->pq_codec_set ? (ms_pq_codec)spec->pq_codec : MS_PQ_SNAPPY;
    w->rg_rows = spec->pq_row_group_rows ? spec->pq_row_group_rows : MS_PQ_ROW_GROUP_ROWS;
    if (w->fmt == MS_FMT_PARQUET)
        return pq_schema(w, spec, err);
    return pend_reserve(w, 0, err);
}

ms_status ms_writer_open(const char *path, ms_out_format fmt, const ms_model *m, ms_precision prec,
                         const char *id_name, int overwrite, ms_writer **out, ms_error *err)
{
    ms_out_spec spec = {.id_name = id_name};
    return ms_writer_open_spec(path, fmt, m, prec, &spec, overwrite, out, err);
}

ms_status ms_writer_open_spec(const char *path, ms_out_format fmt, const ms_model *m,
                              ms_precision prec, const ms_out_spec *spec, int overwrite,
                              ms_writer **out, ms_error *err)
{
    ms_status st = check_keep_names(m, fmt, spec, err);
    if (st == MS_OK)
        st = ms_output_check_target(path, overwrite, err);
    if (st != MS_OK)
        return st;
    ms_writer *w = writer_new(path, fmt, m);
    if (!w)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    st = writer_setup(w, prec, spec, err);
    if (st != MS_OK) {
        writer_free(w);
        return st;
    }
    if (fmt == MS_FMT_HDF5 || fmt == MS_FMT_PARQUET) {
        /* As for CSV: lock before creating anything, so a run that is still
         * writing this output keeps its partial and this one stops having
         * touched nothing. */
        st = open_locked(w, &w->lock_fd, err);
        if (st != MS_OK) {
            writer_free(w);
            return st;
        }
        errno = 0;
        if (fmt == MS_FMT_HDF5) {
            st = h5_open(w, spec, err);
        } else {
            st = ms_pq_writer_create(w->partial, w->pq_cols, w->pq_ncols, w->pq_codec, &w->pq, err);
            if (st == MS_OK)
                st = pq_set_kv(w, spec, err);
        }
        if (st != MS_OK) {
            ms_writer_abort(w);
            return st;
        }
        *out = w;
        return MS_OK;
    }
    /* Lock before truncating: a run still writing this output (say the ranks
     * of an mpirun that was killed) keeps its file, and this one stops. */
    st = open_locked(w, &w->fd, err);
    if (st == MS_OK && truncate_regular(w->fd) != 0)
        st = ms_error_set(err, MS_EIO, "%s: %s", w->partial, strerror(errno));
    if (st != MS_OK) {
        /* a partial we created and could not use goes; another's stays */
        if (w->fd >= 0)
            close(w->fd);
        if (w->created)
            unlink(w->partial);
        writer_free(w);
        return st;
    }
    char *hdr = NULL;
    size_t hlen = 0, hcap = 0;
    st = ms_format_csv_header_spec(m, spec, &hdr, &hlen, &hcap, err);
    if (st == MS_OK)
        st = write_all(w, hdr, hlen, err);
    free(hdr);
    if (st != MS_OK) {
        ms_writer_abort(w);
        return st;
    }
    *out = w;
    return MS_OK;
}

ms_status ms_writer_resume_pq(const char *path, const ms_model *m, ms_precision prec,
                              const ms_out_spec *spec, uint64_t offset, uint64_t rows,
                              ms_writer **out, ms_error *err)
{
    ms_writer *w = writer_new(path, MS_FMT_PARQUET, m);
    if (!w)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    ms_status st = writer_setup(w, prec, spec, err);
    struct stat sb;
    if (st == MS_OK && stat(w->partial, &sb) != 0)
        st =
            ms_error_set(err, MS_EINPUT, "%s: %s (nothing to resume)", w->partial, strerror(errno));
    if (st == MS_OK)
        st = open_locked(w, &w->lock_fd, err);
    if (st == MS_OK) {
        uint64_t g = (rows + w->rg_rows - 1) / w->rg_rows;
        ms_pq_wstate ws = {offset, g, g * w->rg_rows};
        st =
            ms_pq_writer_resume(w->partial, w->pq_cols, w->pq_ncols, w->pq_codec, &ws, &w->pq, err);
        w->pq_skip = g * w->rg_rows - rows;
    }
    if (st == MS_OK)
        st = pq_set_kv(w, spec, err);
    if (st != MS_OK) {
        writer_free(w);
        return st;
    }
    w->rows = rows;
    *out = w;
    return MS_OK;
}

int ms_writer_pq_point(const ms_writer *w, uint64_t rows, uint64_t *offset)
{
    if (w->fmt != MS_FMT_PARQUET || !w->pq || rows == 0)
        return 0;
    uint64_t g = (rows + w->rg_rows - 1) / w->rg_rows;
    if (g >= w->rg_cap || g > ms_pq_writer_state(w->pq).row_groups || !w->rg_end[g])
        return 0;
    *offset = w->rg_end[g];
    return 1;
}

uint64_t ms_writer_pq_rows(const ms_writer *w)
{
    return w->pq ? ms_pq_writer_state(w->pq).rows : 0;
}

ms_status ms_writer_resume(const char *path, const ms_model *m, uint64_t offset, uint64_t rows,
                           ms_writer **out, ms_error *err)
{
    ms_writer *w = writer_new(path, MS_FMT_CSV, m);
    if (!w)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    ms_status st = MS_OK;
    struct stat sb;
    w->fd = open(w->partial, O_WRONLY | O_CLOEXEC);
    if (w->fd < 0)
        st =
            ms_error_set(err, MS_EINPUT, "%s: %s (nothing to resume)", w->partial, strerror(errno));
    else if ((st = lock_partial(w, w->fd, err)) != MS_OK)
        ;
    else if (fstat(w->fd, &sb) != 0 || (uint64_t)sb.st_size < offset)
        st = ms_error_set(err, MS_EINPUT,
                          "%s: shorter than the journal says (%lld < %llu bytes); start again "
                          "without --resume",
                          w->partial, (long long)sb.st_size, (unsigned long long)offset);
    else if (ftruncate(w->fd, (off_t)offset) != 0 || lseek(w->fd, (off_t)offset, SEEK_SET) < 0)
        st = ms_error_set(err, MS_EIO, "%s: %s", w->partial, strerror(errno));
    if (st != MS_OK) {
        if (w->fd >= 0)
            close(w->fd);
        writer_free(w);
        return st;
    }
    w->offset = offset;
    w->rows = rows;
    *out = w;
    return MS_OK;
}

/* The partial file must still be there under its name. Written through a
 * descriptor, a file whose folder was removed takes every write and is lost
 * at the rename; this finds out at the next sync instead. */
static ms_status check_still_there(const ms_writer *w, int fd, ms_error *err)
{
    struct stat mine, named;
    if (fstat(fd, &mine) != 0)
        return ms_error_set(err, MS_EIO, "%s: %s", w->partial, strerror(errno));
    if (stat(w->partial, &named) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return ms_error_set(err, MS_EIO,
                                "%s: deleted while being written (was the output folder removed?)",
                                w->partial);
        return ms_error_set(err, MS_EIO, "%s: %s", w->partial, strerror(errno));
    }
    if (mine.st_dev != named.st_dev || mine.st_ino != named.st_ino)
        return ms_error_set(err, MS_EIO, "%s: replaced by another file while being written",
                            w->partial);
    return MS_OK;
}

ms_status ms_writer_sync(ms_writer *w, ms_error *err)
{
    if (w->fmt == MS_FMT_CSV) {
        if (fdatasync(w->fd) != 0)
            return ms_error_set(err, MS_EIO, "%s: %s", w->partial, strerror(errno));
        return check_still_there(w, w->fd, err);
    }
    if (w->fmt == MS_FMT_PARQUET) { /* row groups written so far */
        if (fdatasync(w->lock_fd) != 0)
            return ms_error_set(err, MS_EIO, "%s: %s", w->partial, strerror(errno));
        return check_still_there(w, w->lock_fd, err);
    }
    /* HDF5 keeps its own buffers (made durable at commit); only check the file */
    void *handle = NULL;
    if (w->file > 0 && H5Fget_vfd_handle(w->file, H5P_DEFAULT, &handle) >= 0 && handle)
        return check_still_there(w, *(int *)handle, err);
    return MS_OK;
}

ms_status ms_writer_append(ms_writer *w, const char *data, size_t len, size_t n_rows, ms_error *err)
{
    ms_status st = w->fmt == MS_FMT_CSV ? write_all(w, data, len, err)
                                        : pend_append(w, data, len, n_rows, err);
    if (st == MS_OK)
        w->rows += n_rows;
    return st;
}

/* Make the rename itself durable: fsync the folder that holds the file. */
static void sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

ms_status ms_writer_commit(ms_writer *w, ms_error *err)
{
    ms_status st = MS_OK;
    if (w->fmt == MS_FMT_HDF5) {
        st = h5_flush(w, err);
        if (st == MS_OK && H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0)
            st = h5_io_error(w, "flush", h5_stack_errno(), err);
        if (st == MS_OK)
            h5_close(w);
        else
            h5_discard(w);
        if (st == MS_OK) {
            w->fd = open(w->partial, O_RDONLY | O_CLOEXEC);
            if (w->fd < 0 || fsync(w->fd) != 0)
                st = ms_error_set(err, MS_EIO, "%s: %s", w->partial, strerror(errno));
        }
    } else if (w->fmt == MS_FMT_PARQUET) {
        st = pq_flush(w, err);
        ms_pq_writer *pq = w->pq;
        w->pq = NULL;
        if (st == MS_OK)
            st = ms_pq_writer_close(pq, err); /* footer, fsync */
        else
            ms_pq_writer_abort(pq);
    } else if (fsync(w->fd) != 0) {
        st = ms_error_set(err, MS_EIO, "%s: %s", w->partial, strerror(errno));
    }
    if (w->fd >= 0 && close(w->fd) != 0 && st == MS_OK)
        st = ms_error_set(err, MS_EIO, "%s: %s", w->partial, strerror(errno));
    w->fd = -1;
    if (st == MS_OK && rename(w->partial, w->path) != 0)
        st = ms_error_set(err, MS_EIO, "%s: cannot rename to %s: %s", w->partial, w->path,
                          strerror(errno));
    if (st != MS_OK) {
        unlink(w->partial);
        writer_free(w);
        return st;
    }
    sync_dir(w->path);
    writer_free(w);
    return MS_OK;
}

void ms_writer_close_partial(ms_writer *w)
{
    if (!w)
        return;
    h5_close(w);
    if (w->fd >= 0)
        close(w->fd);
    writer_free(w);
}

void ms_writer_abort(ms_writer *w)
{
    if (!w)
        return;
    h5_discard(w);
    if (w->fd >= 0)
        close(w->fd);
    unlink(w->partial);
    writer_free(w);
}

uint64_t ms_writer_rows(const ms_writer *w)
{
    return w->rows;
}

uint64_t ms_writer_offset(const ms_writer *w)
{
    return w->fmt == MS_FMT_CSV ? w->offset : 0;
}
