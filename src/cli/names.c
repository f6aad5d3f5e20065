/*
 * names.c — the value of a name-list option (--features, --feature-names):
 *   a,b,c        names separated by commas
 *   @FILE        one name per line, exactly as written (a final newline and
 *                CRLF line ends are fine), for names that hold commas
 *   ["a,b","c"]  a JSON array of strings
 * Names are kept as given (no trimming: pandas keeps " b" as a column name).
 */
#include "cli/cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ms_names_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Append a copy of s[0..len) to *v. */
static int push(char ***v, size_t *n, size_t *cap, const char *s, size_t len)
{
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        char **p = realloc(*v, nc * sizeof *p);
        if (!p)
            return -1;
        *v = p;
        *cap = nc;
    }
    char *c = malloc(len + 1);
    if (!c)
        return -1;
    memcpy(c, s, len);
    c[len] = '\0';
    (*v)[(*n)++] = c;
    return 0;
}

static int from_json(const char *opt, const char *s, char ***v, size_t *n, size_t *cap, char *msg,
                     size_t msz)
{
    json_error_t je;
    json_t *a = json_loads(s, 0, &je);
    if (!a || !json_is_array(a)) {
        snprintf(msg, msz, "%s: not a JSON array of names%s%s", opt, a ? "" : ": ",
                 a ? "" : je.text);
        json_decref(a);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < json_array_size(a) && rc == 0; i++) {
        json_t *e = json_array_get(a, i);
        if (!json_is_string(e)) {
            snprintf(msg, msz, "%s: element %zu is not a string", opt, i + 1);
            rc = -1;
        } else if (json_string_length(e) == 0) {
            snprintf(msg, msz, "%s: element %zu is an empty name", opt, i + 1);
            rc = -1;
        } else if (push(v, n, cap, json_string_value(e), json_string_length(e)) != 0) {
            snprintf(msg, msz, "out of memory");
            rc = -1;
        }
    }
    json_decref(a);
    return rc;
}

static int from_file(const char *opt, const char *path, char ***v, size_t *n, size_t *cap,
                     char *msg, size_t msz)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, msz, "%s @%s: %s", opt, path, strerror(errno));
        return -1;
    }
    int rc = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    unsigned long lineno = 0;
    while (rc == 0 && (len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        if (len && line[len - 1] == '\n')
            len--;
        if (len && line[len - 1] == '\r')
            len--;
        if (len == 0) {
            snprintf(msg, msz, "%s @%s:%lu: empty name", opt, path, lineno);
            rc = -1;
        } else if (memchr(line, '\0', (size_t)len)) {
            snprintf(msg, msz, "%s @%s:%lu: a name contains a NUL byte", opt, path, lineno);
            rc = -1;
        } else if (push(v, n, cap, line, (size_t)len) != 0) {
            snprintf(msg, msz, "out of memory");
            rc = -1;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(msg, msz, "%s @%s: %s", opt, path, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && *n == 0) {
        snprintf(msg, msz, "%s @%s: the file lists no names", opt, path);
        rc = -1;
    }
    free(line);
    fclose(f);
    return rc;
}

int ms_names_parse(const char *opt, const char *arg, char ***out, size_t *n_out, char *msg,
                   size_t msz)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    if (arg[0] == '@') {
        rc = from_file(opt, arg + 1, &v, &n, &cap, msg, msz);
    } else if (arg[0] == '[') {
        rc = from_json(opt, arg, &v, &n, &cap, msg, msz);
    } else {
        for (const char *p = arg;; p++) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            if (len == 0) {
                snprintf(msg, msz, "%s %s: empty name (names with commas: @FILE or a JSON list)",
                         opt, arg);
                rc = -1;
                break;
            }
            if (push(&v, &n, &cap, p, len) != 0) {
                snprintf(msg, msz, "out of memory");
                rc = -1;
                break;
            }
            if (!end)
                break;
            p = end;
        }
    }
    if (rc != 0) {
        ms_names_free(v, n);
        return -1;
    }
    *out = v;
    *n_out = n;
    return 0;
}
