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

ms_status ms_out_format_pick(const char *format_opt, const char *path, ms_out_format *fmt,
                             ms_error *err)
{
    if (format_opt) {
        if (!strcasecmp(format_opt, "csv"))
            *fmt = MS_FMT_CSV;
        else if (!strcasecmp(format_opt, "hdf5") || !strcasecmp(format_opt, "h5"))
            *fmt = MS_FMT_HDF5;
        else
            return ms_error_set(err, MS_EUSAGE, "--format %s: expected csv or hdf5", format_opt);
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
    }
    return ms_error_set(err, MS_EUSAGE,
                        "%s: cannot tell the output format from the extension; use --format "
                        "csv|hdf5",
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

ms_status ms_format_csv_header(const ms_model *m, const char *id_name, char **buf, size_t *len,
                               size_t *cap, ms_error *err)
{
    ms_status st = MS_OK;
    int first = 1;
    if (id_name) {
        MS_CHECK(ms_csv_append_field(buf, len, cap, id_name, strlen(id_name), err));
        first = 0;
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
        /* worst case for the row: quoted id and label, every value at full width */
        size_t need = 2 * id_n + 3 + m->n_outputs * (MS_F64_TEXT_MAX + 1) + 2 * max_label + 4;
        MS_CHECK(ms_buf_reserve(buf, cap, *len + need, err));
        size_t line = *len;
        int first = 1;
        if (b->has_ids) {
            MS_CHECK(ms_csv_append_field(buf, len, cap, b->id_text + b->id_off[r], id_n, err));
            first = 0;
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

ms_status ms_pack_rows(const ms_model *m, const ms_batch *b, const double *out, ms_precision prec,
                       char **buf, size_t *len, size_t *cap, ms_error *err)
{
    size_t n = b->n_rows, k = m->n_outputs,
           vs = prec == MS_PREC_F64 ? sizeof(double) : sizeof(float);
    size_t need = n * k * vs + (m->n_classes ? n * sizeof(int32_t) : 0) +
                  (b->has_ids ? (n + 1) * sizeof(uint64_t) + b->id_off[n] : 0);
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
    if (b->has_ids) {
        for (size_t r = 0; r <= n; r++) {
            uint64_t o = b->id_off[r];
            memcpy(p, &o, sizeof o);
            p += sizeof o;
        }
        if (b->id_off[n])
            memcpy(p, b->id_text, b->id_off[n]);
        p += b->id_off[n];
    }
    *len = (size_t)(p - *buf);
    return MS_OK;
}

/* ---- writers -------------------------------------------------------------- */

/* HDF5 rows are buffered and written one whole chunk at a time, so the file
 * layout does not depend on the batch boundaries. */
#define MS_H5_CHUNK 16384

struct ms_writer {
    ms_out_format fmt;
    char *path, *partial;
    const ms_model *m;
    ms_precision prec; /* of the values: HDF5 dataset type, packed rows */
    size_t vs;         /* bytes per packed value */
    uint64_t rows;
    uint64_t offset; /* CSV bytes written */
    int fd;          /* CSV */
    int lock_fd;     /* HDF5: our own descriptor of the partial, holding its lock */
    int created;     /* the partial did not exist before this writer made it */
    /* HDF5 */
    hid_t file, d_pred, d_lab, d_ids, t_str;
    int has_ids;
    /* The pending chunk: rows appended but not yet written. Ids are kept
     * NUL-terminated in ptext at poff[i]; pid[] points into ptext only while
     * a chunk is being written, as ptext may move when it grows. */
    char *pv; /* values, vs bytes each */
    int32_t *pl;
    size_t *poff;
    char **pid;
    char *ptext;
    size_t ptext_len, ptext_cap;
    size_t pn;        /* rows pending, < MS_H5_CHUNK between appends */
    uint64_t h5_rows; /* rows already in the file */
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

static ms_status h5_open(ms_writer *w, const char *id_name, ms_error *err)
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
    w->d_ids = H5I_INVALID_HID;
    if (id_name) {
        w->has_ids = 1;
        w->d_ids = make_2d(w->file, "ids", w->t_str, 0);
        char *names[1] = {(char *)id_name};
        if (w->d_ids < 0 || set_str_attr(w->file, "id_name", names, 1, w->t_str) < 0)
            goto fail;
    }
    w->pv = malloc(MS_H5_CHUNK * (m->n_outputs ? m->n_outputs : 1) * w->vs);
    w->pl = malloc(MS_H5_CHUNK * sizeof *w->pl);
    w->poff = malloc(MS_H5_CHUNK * sizeof *w->poff);
    w->pid = malloc(MS_H5_CHUNK * sizeof *w->pid);
    if (!w->pv || !w->pl || !w->poff || !w->pid)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
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
    if (rc == 0 && w->has_ids) {
        for (size_t i = 0; i < w->pn; i++)
            w->pid[i] = w->ptext + w->poff[i];
        rc = h5_extend_write(w->d_ids, w->t_str, w->h5_rows, w->pn, 0, w->pid, &sys_errno);
    }
    w->h5_rows += w->pn;
    w->pn = 0;
    w->ptext_len = 0;
    if (rc < 0)
        return h5_io_error(w, "write", sys_errno, err);
    return MS_OK;
}

/* Unpack an ms_pack_rows buffer into the pending chunk, writing each chunk
 * as it fills. The layout must match the writer exactly (ids present iff
 * the writer has an id dataset): a mismatch is a bug upstream, refused
 * before anything is taken, so a refused append adds no rows. */
static ms_status h5_append(ms_writer *w, const char *data, size_t len, size_t n, ms_error *err)
{
    const ms_model *m = w->m;
    size_t k = m->n_outputs;
    size_t fixed = n * k * w->vs + (m->n_classes ? n * sizeof(int32_t) : 0) +
                   (w->has_ids ? (n + 1) * sizeof(uint64_t) : 0);
    if (len < fixed)
        return ms_error_set(err, MS_EINTERNAL, "packed rows: %zu bytes for %zu rows, expected %zu",
                            len, n, fixed);
    const char *pv = data, *pl = pv + n * k * w->vs;
    const char *po = pl + (m->n_classes ? n * sizeof(int32_t) : 0);
    const char *text = po + (n + 1) * sizeof(uint64_t);
    uint64_t prev = 0;
    for (size_t r = 0; w->has_ids && r <= n; r++) {
        uint64_t o;
        memcpy(&o, po + r * sizeof o, sizeof o);
        if (o < prev || (r == 0 && o != 0))
            return ms_error_set(err, MS_EINTERNAL, "packed rows: id offsets out of order");
        prev = o;
    }
    if (len - fixed != prev)
        return ms_error_set(err, MS_EINTERNAL, "packed rows: %zu bytes for %zu rows, expected %llu",
                            len, n, (unsigned long long)(fixed + prev));
    size_t r = 0;
    while (r < n) {
        size_t take = n - r < MS_H5_CHUNK - w->pn ? n - r : MS_H5_CHUNK - w->pn;
        memcpy(w->pv + w->pn * k * w->vs, pv + r * k * w->vs, take * k * w->vs);
        if (m->n_classes)
            memcpy(w->pl + w->pn, pl + r * sizeof(int32_t), take * sizeof(int32_t));
        if (w->has_ids) {
            uint64_t a, b;
            memcpy(&a, po + r * sizeof a, sizeof a);
            memcpy(&b, po + (r + take) * sizeof b, sizeof b);
            /* room for the segment's text plus one NUL per id */
            ms_status st =
                ms_buf_reserve(&w->ptext, &w->ptext_cap, w->ptext_len + (b - a) + take, err);
            if (st != MS_OK)
                return st;
            for (size_t i = 0; i < take; i++) {
                uint64_t s, e;
                memcpy(&s, po + (r + i) * sizeof s, sizeof s);
                memcpy(&e, po + (r + i + 1) * sizeof e, sizeof e);
                w->poff[w->pn + i] = w->ptext_len;
                if (e > s)
                    memcpy(w->ptext + w->ptext_len, text + s, (size_t)(e - s));
                w->ptext_len += (size_t)(e - s);
                w->ptext[w->ptext_len++] = '\0';
            }
        }
        w->pn += take;
        r += take;
        if (w->pn == MS_H5_CHUNK) {
            ms_status st = h5_flush(w, err);
            if (st != MS_OK)
                return st;
        }
    }
    return MS_OK;
}

static void h5_close(ms_writer *w)
{
    if (w->d_pred > 0)
        H5Dclose(w->d_pred);
    if (w->d_lab > 0)
        H5Dclose(w->d_lab);
    if (w->d_ids > 0)
        H5Dclose(w->d_ids);
    if (w->t_str > 0)
        H5Tclose(w->t_str);
    if (w->file > 0)
        H5Fclose(w->file);
    w->file = w->d_pred = w->d_lab = w->d_ids = w->t_str = H5I_INVALID_HID;
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
    free(w->path);
    free(w->partial);
    free(w->pv);
    free(w->pl);
    free(w->poff);
    free(w->pid);
    free(w->ptext);
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
    w->file = w->d_pred = w->d_lab = w->d_ids = w->t_str = H5I_INVALID_HID;
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

ms_status ms_writer_open(const char *path, ms_out_format fmt, const ms_model *m, ms_precision prec,
                         const char *id_name, int overwrite, ms_writer **out, ms_error *err)
{
    ms_status st = ms_output_check_target(path, overwrite, err);
    if (st != MS_OK)
        return st;
    ms_writer *w = writer_new(path, fmt, m);
    if (!w)
        return ms_error_set(err, MS_EINTERNAL, "out of memory");
    w->prec = prec;
    w->vs = prec == MS_PREC_F64 ? sizeof(double) : sizeof(float);
    if (fmt == MS_FMT_HDF5) {
        /* As for CSV: lock before creating anything, so a run that is still
         * writing this output keeps its partial and this one stops having
         * touched nothing. */
        st = open_locked(w, &w->lock_fd, err);
        if (st != MS_OK) {
            writer_free(w);
            return st;
        }
        errno = 0;
        st = h5_open(w, id_name, err);
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
    st = ms_format_csv_header(m, id_name, &hdr, &hlen, &hcap, err);
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
    /* HDF5 keeps its own buffers (made durable at commit); only check the file */
    void *handle = NULL;
    if (w->file > 0 && H5Fget_vfd_handle(w->file, H5P_DEFAULT, &handle) >= 0 && handle)
        return check_still_there(w, *(int *)handle, err);
    return MS_OK;
}

ms_status ms_writer_append(ms_writer *w, const char *data, size_t len, size_t n_rows, ms_error *err)
{
    ms_status st =
        w->fmt == MS_FMT_CSV ? write_all(w, data, len, err) : h5_append(w, data, len, n_rows, err);
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
