/*
 * test_dict.c — category dictionaries: exact, case-sensitive string
 * lookups (no trimming: "No phone service" and " No" differ), numeric
 * lookups by value, duplicates refused, a large dictionary finds every
 * category and nothing else.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "mpiscore/columns.h"

int main(void)
{
    ms_error err;
    ms_dict *d;
    const char *cats[] = {"No", "Yes", "No phone service", "", "Fiber optic (fast)"};
    CHECK_FATAL(ms_dict_create_str(cats, 5, &d, &err) == MS_OK);
    CHECK(ms_dict_size(d) == 5);
    for (int k = 0; k < 5; k++)
        CHECK(ms_dict_find_str(d, cats[k], strlen(cats[k])) == k);
    CHECK(ms_dict_find_str(d, "no", 2) == MS_CODE_UNKNOWN);
    CHECK(ms_dict_find_str(d, " No", 3) == MS_CODE_UNKNOWN);
    CHECK(ms_dict_find_str(d, "No ", 3) == MS_CODE_UNKNOWN);
    CHECK(ms_dict_find_str(d, "No phone", 8) == MS_CODE_UNKNOWN);
    CHECK(ms_dict_find_num(d, 1.0) == MS_CODE_UNKNOWN);
    CHECK_STREQ(ms_dict_str(d, 2), "No phone service");
    ms_dict_free(d);

    const char *dup[] = {"a", "b", "a"};
    CHECK(ms_dict_create_str(dup, 3, &d, &err) == MS_EMODEL);
    CHECK(strstr(err.msg, "\"a\" is listed twice") != NULL);

    double nums[] = {1, 2, 3.5, -0.0};
    CHECK_FATAL(ms_dict_create_num(nums, 4, &d, &err) == MS_OK);
    CHECK(ms_dict_find_num(d, 2.0) == 1);
    CHECK(ms_dict_find_num(d, 3.5) == 2);
    CHECK(ms_dict_find_num(d, 0.0) == 3);
    CHECK(ms_dict_find_num(d, 4.0) == MS_CODE_UNKNOWN);
    CHECK(ms_dict_find_num(d, NAN) == MS_CODE_UNKNOWN);
    CHECK(ms_dict_find_str(d, "1", 1) == MS_CODE_UNKNOWN);
    ms_dict_free(d);
    double nd[] = {1, NAN};
    CHECK(ms_dict_create_num(nd, 2, &d, &err) == MS_EMODEL);

    /* 50k categories: every one found at its code, near misses not */
    enum { N = 50000 };
    static char buf[N][16];
    static const char *many[N];
    for (int k = 0; k < N; k++) {
        snprintf(buf[k], sizeof buf[k], "cat-%d", k * 7);
        many[k] = buf[k];
    }
    CHECK_FATAL(ms_dict_create_str(many, N, &d, &err) == MS_OK);
    int bad = 0;
    for (int k = 0; k < N; k++) {
        char q[16];
        int n = snprintf(q, sizeof q, "cat-%d", k * 7);
        bad += ms_dict_find_str(d, q, (size_t)n) != k;
        n = snprintf(q, sizeof q, "cat-%d", k * 7 + 1);
        bad += ms_dict_find_str(d, q, (size_t)n) != MS_CODE_UNKNOWN;
    }
    CHECK(bad == 0);
    ms_dict_free(d);
    CHECK_FATAL(ms_dict_create_str(NULL, 0, &d, &err) == MS_OK);
    CHECK(ms_dict_find_str(d, "x", 1) == MS_CODE_UNKNOWN);
    ms_dict_free(d);
    return ms_test_done("test_dict");
}
