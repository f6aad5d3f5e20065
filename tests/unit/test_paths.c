/*
 * test_paths.c — files compared by identity (paths.h): symlinks, ./ and ..,
 * files not there yet, and the error lines.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "mpiscore/paths.h"

static char dir[] = "/tmp/test_paths.XXXXXX";

static const char *at(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    CHECK_FATAL(f != NULL);
    fputs("x\n", f);
    fclose(f);
}

int main(void)
{
    CHECK_FATAL(mkdtemp(dir) != NULL);
    CHECK_FATAL(mkdir(at("sub"), 0755) == 0);
    touch(at("in.csv"));
    CHECK_FATAL(symlink(at("in.csv"), at("link.csv")) == 0);
    ms_error err;

    /* an existing file through a symlink and through sub/.. */
    ms_path_ref w1[] = {{"--metrics", at("link.csv")}};
    ms_path_ref r1[] = {{"the model", at("m.h5")}, {"input", at("sub/../in.csv")}};
    CHECK(ms_paths_check_distinct(w1, 1, r1, 2, &err) == MS_EUSAGE);
    char want[1200];
    snprintf(want, sizeof want, "--metrics %s is input %s: the run would overwrite what it reads",
             at("link.csv"), at("sub/../in.csv"));
    CHECK_STREQ(err.msg, want);

    /* two names for a file not there yet: folder identity + base name */
    ms_path_ref w2[] = {{"--output", at("out.csv")}, {"--status-file", at("sub/../out.csv")}};
    CHECK(ms_paths_check_distinct(w2, 2, NULL, 0, &err) == MS_EUSAGE);
    snprintf(want, sizeof want, "--status-file %s and --output %s are the same file",
             at("sub/../out.csv"), at("out.csv"));
    CHECK_STREQ(err.msg, want);

    /* distinct files, and one in a folder that does not exist: fine here
     * (the writer reports the folder) */
    ms_path_ref w3[] = {{"--output", at("out.csv")},
                        {"--metrics", at("sub/out.csv")},
                        {"--errors-file", at("nodir/out.csv")}};
    ms_path_ref r3[] = {{"input", at("in.csv")}, {"input", at("nodir/out.csv")}};
    CHECK(ms_paths_check_distinct(w3, 3, r3, 1, &err) == MS_OK);
    /* a path in a missing folder is never "the same" as anything */
    CHECK(ms_paths_check_distinct(w3, 3, r3 + 1, 1, &err) == MS_OK);

    unlink(at("link.csv"));
    unlink(at("in.csv"));
    rmdir(at("sub"));
    CHECK(rmdir(dir) == 0);
    return ms_test_done("test_paths");
}
