/*
 * h5util.c — HDF5 attribute helpers (h5util.h).
 */
#include "h5util.h"

#include <stdlib.h>
#include <string.h>

void ms_h5_free_strs(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

char *ms_h5_fixed_str(const char *cell, size_t size)
{
    size_t n = 0;
    while (n < size && cell[n] != '\0')
        n++;
    while (n > 0 && cell[n - 1] == ' ')
        n--;
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, cell, n);
    s[n] = '\0';
    return s;
}

int ms_h5_exists(hid_t file, const char *path)
{
    /* check each component: H5Lexists fails on a missing intermediate group */
    char buf[1024];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (strcmp(buf, "/") != 0 && H5Lexists(file, buf, H5P_DEFAULT) <= 0)
                return 0;
            buf[i] = c;
        }
    }
    return 1;
}

int ms_h5_attr_strs(hid_t obj, const char *name, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (H5Aexists(obj, name) <= 0)
        return -1;
    int rc = -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    hid_t mt = H5I_INVALID_HID;
    char **v = NULL;
    hssize_t cnt = 0;
    if (a < 0 || t < 0 || sp < 0 || H5Tget_class(t) != H5T_STRING)
        goto done;
    cnt = H5Sget_simple_extent_npoints(sp);
    if (H5Sget_simple_extent_type(sp) == H5S_NULL)
        cnt = 0;
    if (cnt < 0 || H5Sget_simple_extent_ndims(sp) > 1)
        goto done;
    v = calloc((size_t)cnt + 1, sizeof *v);
    if (!v)
        goto done;
    if (cnt == 0) {
        rc = 0;
        goto done;
    }
    if (H5Tis_variable_str(t) > 0) {
        mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t));
        char **raw = calloc((size_t)cnt, sizeof *raw);
        if (raw && H5Aread(a, mt, raw) >= 0) {
            rc = 0;
            for (hssize_t i = 0; i < cnt; i++) {
                v[i] = strdup(raw[i] ? raw[i] : "");
                if (!v[i])
                    rc = -1;
            }
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, raw);
        }
        free(raw);
    } else {
        size_t sz = H5Tget_size(t);
        mt = H5Tcopy(t);
        char *raw = malloc((size_t)cnt * sz + 1);
        if (raw && H5Aread(a, mt, raw) >= 0) {
            rc = 0;
            for (hssize_t i = 0; i < cnt; i++)
                if (!(v[i] = ms_h5_fixed_str(raw + (size_t)i * sz, sz)))
                    rc = -1;
        }
        free(raw);
    }
done:
    if (rc == 0) {
        *out = v;
        *n = (size_t)cnt;
    } else if (v) {
        for (size_t i = 0; v[i]; i++)
            free(v[i]);
        free(v);
    }
    if (mt >= 0)
        H5Tclose(mt);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

int ms_h5_attr_str(hid_t obj, const char *name, char **out)
{
    char **v;
    size_t n;
    *out = NULL;
    if (ms_h5_attr_strs(obj, name, &v, &n) != 0)
        return -1;
    if (n != 1) {
        ms_h5_free_strs(v, n);
        return -1;
    }
    *out = v[0];
    free(v);
    return 0;
}

int ms_h5_attr_int(hid_t obj, const char *name, long long *out)
{
    if (H5Aexists(obj, name) <= 0)
        return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    int rc = -1;
    if (a >= 0 && H5Sget_simple_extent_npoints(sp) == 1) {
        if (H5Tget_class(t) == H5T_INTEGER) {
            rc = H5Aread(a, H5T_NATIVE_LLONG, out) < 0 ? -1 : 0;
        } else if (H5Tget_class(t) == H5T_FLOAT) {
            double d;
            /* range first: casting a double beyond long long (or NaN) is UB */
            if (H5Aread(a, H5T_NATIVE_DOUBLE, &d) >= 0 && d >= -0x1p63 && d < 0x1p63 &&
                d == (double)(long long)d) {
                *out = (long long)d;
                rc = 0;
            }
        }
    }
    H5Sclose(sp);
    H5Tclose(t);
    H5Aclose(a);
    return rc;
}

int ms_h5_write_attr_strs(hid_t obj, const char *name, char *const *vals, size_t n)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hsize_t dims[1] = {n};
    hid_t sp = n ? H5Screate_simple(1, dims, NULL) : H5Screate(H5S_NULL);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 ? -1 : (n ? (H5Awrite(a, t, vals) < 0 ? -1 : 0) : 0);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return rc;
}

int ms_h5_write_attr_str(hid_t obj, const char *name, const char *val)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || H5Awrite(a, t, &val) < 0 ? -1 : 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return rc;
}

int ms_h5_write_attr_int(hid_t obj, const char *name, long long val)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || H5Awrite(a, H5T_NATIVE_LLONG, &val) < 0 ? -1 : 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return rc;
}
