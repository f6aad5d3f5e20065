/*
 * test_registry.c — the model registry and its SHA-256: digests against the
 * FIPS 180-2 example vectors (whole and fed in awkward pieces), register /
 * resolve / list in a scratch MPISCORE_HOME, version numbering around an
 * incomplete folder, and every refusal with its exact message.
 *
 * Runs in a scratch directory so plain-file references are short relative
 * names ("m.h5") and the registry path is known for the expected messages.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream, mkdtemp, nftw */
#endif
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "mpiscore/model.h"
#include "mpiscore/registry.h"
#include "mpiscore/sha256.h"

static void check_digest(const char *msg, size_t n, const char *want)
{
    char hex[MS_SHA256_HEX_LEN + 1];
    ms_sha256_buf_hex(msg, n, hex);
    CHECK_STREQ(hex, want);

    /* Same message in pieces that straddle block and padding boundaries. */
    static const size_t steps[] = {1, 3, 55, 56, 63, 64, 65, 127, 1000};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        ms_sha256 c;
        unsigned char d[MS_SHA256_LEN];
        ms_sha256_init(&c);
        for (size_t off = 0; off < n; off += steps[s])
            ms_sha256_update(&c, msg + off, n - off < steps[s] ? n - off : steps[s]);
        ms_sha256_final(&c, d);
        ms_sha256_hex(d, hex);
        CHECK_MSG(!strcmp(hex, want), "step %zu: %s != %s", steps[s], hex, want);
    }
}

static void test_sha256(void)
{
    check_digest("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_digest("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_digest(m448, strlen(m448),
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                       "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    check_digest(m896, strlen(m896),
                 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    char *million = malloc(1000000);
    CHECK_FATAL(million);
    memset(million, 'a', 1000000);
    check_digest(million, 1000000,
                 "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
}

static char *names3[] = {"a", "b", "c"};
static char *bin_outputs[] = {"p_no", "p_yes"};
static char *bin_classes[] = {"no", "yes"};
static float bin_coef[] = {0.5f, -1.25f, 2.0f};
static float bin_icpt[] = {0.125f};

static void save_model(const char *path)
{
    ms_model m;
    memset(&m, 0, sizeof m);
    m.kind = MS_KIND_LINEAR;
    m.link = MS_LINK_LOGISTIC;
    m.n_features = 3;
    m.feature_names = names3;
    m.n_raw = 1;
    m.n_outputs = 2;
    m.output_names = bin_outputs;
    m.n_classes = 2;
    m.class_labels = bin_classes;
    m.source = "scikit-learn 1.2.1";
    m.linear.coef = bin_coef;
    m.linear.intercept = bin_icpt;
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_model_save(&m, path, &err);
    CHECK_MSG(st == MS_OK, "save %s: %s", path, err.msg);
    CHECK_FATAL(st == MS_OK);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static void file_sha(const char *path, char *hex)
{
    FILE *f = fopen(path, "rb");
    CHECK_FATAL(f);
    ms_sha256 c;
    unsigned char d[MS_SHA256_LEN], buf[4096];
    size_t n;
    ms_sha256_init(&c);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        ms_sha256_update(&c, buf, n);
    fclose(f);
    ms_sha256_final(&c, d);
    ms_sha256_hex(d, hex);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* register expecting success and the given reference. */
static void reg_ok(const char *file, const char *name, const char *notes, const char *want)
{
    char ref[128] = "";
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_registry_register(file, name, notes, ref, sizeof ref, &err);
    CHECK_MSG(st == MS_OK, "register %s %s: %s", name, file, err.msg);
    CHECK_STREQ(ref, want);
}

/* resolve expecting a path ending with suffix. */
static void resolve_ok(const char *ref, const char *suffix)
{
    char path[MS_REGISTRY_PATH_MAX] = "";
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_registry_resolve(ref, path, sizeof path, &err);
    CHECK_MSG(st == MS_OK, "resolve %s: %s", ref, err.msg);
    CHECK_MSG(ends_with(path, suffix), "resolve %s: %s does not end with %s", ref, path, suffix);
}

static void resolve_fails(const char *ref, ms_status want, const char *msg)
{
    char path[MS_REGISTRY_PATH_MAX] = "";
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_registry_resolve(ref, path, sizeof path, &err);
    CHECK_MSG(st == want, "resolve %s: status %d, want %d (%s)", ref, (int)st, (int)want, err.msg);
    CHECK_STREQ(err.msg, msg);
}

static char *list_text(const char *name, ms_status want)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK_FATAL(f);
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_registry_list(name, f, &err);
    fclose(f);
    CHECK_MSG(st == want, "list %s: status %d (%s)", name ? name : "(all)", (int)st, err.msg);
    return text;
}

/* "NAME VERSION" of every row after the header, one per line. */
static void list_keys(const char *text, char *out, size_t sz)
{
    out[0] = '\0';
    const char *line = strchr(text, '\n');
    while (line && line[1]) {
        char name[80];
        int v;
        if (sscanf(line + 1, "%79s %d", name, &v) == 2) {
            size_t n = strlen(out);
            snprintf(out + n, sz - n, "%s:%d ", name, v);
        }
        line = strchr(line + 1, '\n');
    }
}

static int rm_one(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(p);
}

static void test_registry(void)
{
    char tmpl[] = "/tmp/ms_test_registry.XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK_FATAL(dir);
    CHECK_FATAL(chdir(dir) == 0);
    char home[256], models[300], buf[1024], sha[MS_SHA256_HEX_LEN + 1];
    snprintf(home, sizeof home, "%s/home", dir);
    snprintf(models, sizeof models, "%s/models", home);
    setenv("MPISCORE_HOME", home, 1);
    save_model("m.h5");
    file_sha("m.h5", sha);

    char got[MS_REGISTRY_PATH_MAX];
    ms_error err;
    CHECK(ms_registry_models_dir(got, sizeof got, &err) == MS_OK);
    CHECK_STREQ(got, models);

    /* Empty registry: header only; unknown names. */
    char *t = list_text(NULL, MS_OK);
    CHECK_MSG(!strncmp(t, "NAME  VERSION  CREATED", 22) && !strchr(t, '\n')[1], "empty list: %s",
              t);
    free(t);
    snprintf(buf, sizeof buf, "no model \"churn\" in the registry (%s)", models);
    resolve_fails("churn", MS_EMODEL, buf);
    resolve_fails("churn:latest", MS_EMODEL, buf);

    /* Versions count up from 1; notes and metadata are kept. */
    reg_ok("m.h5", "churn", NULL, "churn:1");
    reg_ok("m.h5", "churn", "retrained on May data", "churn:2");
    reg_ok("m.h5", "churn", "", "churn:3");
    resolve_ok("churn", "/models/churn/3/model.h5");
    resolve_ok("churn:latest", "/models/churn/3/model.h5");
    resolve_ok("churn:1", "/models/churn/1/model.h5");
    resolve_ok("m.h5", "m.h5");

    ms_registry_entry e;
    ms_error_clear(&err);
    CHECK_MSG(ms_registry_lookup("churn:2", &e, &err) == MS_OK, "lookup: %s", err.msg);
    CHECK_STREQ(e.name, "churn");
    CHECK(e.version == 2);
    CHECK_STREQ(e.sha256, sha);
    CHECK_STREQ(e.notes, "retrained on May data");
    CHECK_STREQ(e.kind, "linear");
    CHECK_STREQ(e.link, "logistic");
    CHECK_STREQ(e.source, "scikit-learn 1.2.1");
    CHECK(e.n_features == 3);
    CHECK(strlen(e.created) == 20 && e.created[10] == 'T' && e.created[19] == 'Z');
    snprintf(buf, sizeof buf, "%s/m.h5", dir);
    CHECK_STREQ(e.original_path, buf);
    CHECK(ms_registry_lookup("m.h5", &e, &err) == MS_OK && e.version == 0);
    CHECK_STREQ(e.path, "m.h5");

    /* meta.json carries every documented field. */
    snprintf(buf, sizeof buf, "%s/churn/1/meta.json", models);
    json_t *meta = json_load_file(buf, 0, NULL);
    CHECK_FATAL(meta);
    static const char *const keys[] = {"name", "version", "created",    "sha256", "source",
                                       "kind", "link",    "n_features", "notes",  "original_path"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        CHECK_MSG(json_object_get(meta, keys[i]), "meta.json lacks %s", keys[i]);
    CHECK(json_integer_value(json_object_get(meta, "version")) == 1);
    json_decref(meta);

    /* The stored copy is byte-identical to the registered file. */
    char stored[MS_SHA256_HEX_LEN + 1];
    snprintf(buf, sizeof buf, "%s/churn/3/model.h5", models);
    file_sha(buf, stored);
    CHECK_STREQ(stored, sha);

    /* Refusals. */
    resolve_fails("churn:7", MS_EMODEL, "churn:7: no such version (latest is 3)");
    resolve_fails("churn:0", MS_EMODEL, "churn:0: no such version (latest is 3)");
    resolve_fails("churn:x", MS_EUSAGE, "churn:x: version \"x\": expected a number or \"latest\"");
    snprintf(buf, sizeof buf, "no model \"other\" in the registry (%s)", models);
    resolve_fails("other", MS_EMODEL, buf);
    snprintf(buf, sizeof buf,
             "no model \"nosuch.h5\" in the registry (%s) and no file nosuch.h5: No such file or "
             "directory",
             models);
    resolve_fails("nosuch.h5", MS_EIO, buf);
    snprintf(buf, sizeof buf,
             "no model \"d/m.h5\" in the registry (%s) and no file d/m.h5: No such file or "
             "directory",
             models);
    resolve_fails("d/m.h5", MS_EIO, buf);

    char ref[128];
    ms_error_clear(&err);
    CHECK(ms_registry_register("m.h5", "x y", NULL, ref, sizeof ref, &err) == MS_EUSAGE);
    CHECK_STREQ(err.msg, "model name \"x y\": use letters, digits, '.', '_' and '-'");
    static const char *const bad_names[] = {"", ".hidden", "-x", "a/b", "a:1", "é"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        CHECK_MSG(ms_registry_register("m.h5", bad_names[i], NULL, ref, sizeof ref, &err) ==
                      MS_EUSAGE,
                  "name \"%s\" accepted", bad_names[i]);
    }
    char long_name[80];
    memset(long_name, 'n', 65);
    long_name[65] = '\0';
    CHECK(ms_registry_register("m.h5", long_name, NULL, ref, sizeof ref, &err) == MS_EUSAGE);
    long_name[64] = '\0';
    CHECK(ms_registry_name_ok(long_name));
    CHECK(ms_registry_name_ok("a.B_c-9"));

    /* A broken container is refused with the loader's own message and takes
     * no version. */
    write_text("bad.h5", "not a model\n");
    ms_model *m = NULL;
    ms_error lerr;
    CHECK(ms_model_load("bad.h5", &m, &lerr) != MS_OK);
    ms_error_clear(&err);
    ms_status st = ms_registry_register("bad.h5", "bad", NULL, ref, sizeof ref, &err);
    CHECK(st == lerr.code);
    CHECK_STREQ(err.msg, lerr.msg);
    snprintf(buf, sizeof buf, "%s/bad", models);
    struct stat sb;
    CHECK(stat(buf, &sb) != 0 && errno == ENOENT);
    CHECK(ms_registry_register("missing.h5", "churn", NULL, ref, sizeof ref, &err) == MS_EIO);

    /* An incomplete folder (a register that died before meta.json) is
     * invisible, and its number is not handed out again. */
    snprintf(buf, sizeof buf, "%s/churn/4", models);
    CHECK_FATAL(mkdir(buf, 0755) == 0);
    resolve_ok("churn:latest", "/models/churn/3/model.h5");
    resolve_fails("churn:4", MS_EMODEL, "churn:4: no such version (latest is 3)");
    reg_ok("m.h5", "churn", NULL, "churn:5");
    resolve_ok("churn", "/models/churn/5/model.h5");

    /* Tampering: one byte appended to a stored copy. */
    snprintf(buf, sizeof buf, "%s/churn/2/model.h5", models);
    FILE *f = fopen(buf, "ab");
    CHECK_FATAL(f);
    fputc('x', f);
    fclose(f);
    resolve_fails("churn:2", MS_EMODEL,
                  "churn:2: model file does not match its registered sha256 (tampered or "
                  "corrupt)");
    resolve_ok("churn:5", "/models/churn/5/model.h5");

    /* list: sorted by name, then version (numerically: 10 after 9). */
    reg_ok("m.h5", "alpha", "first\nline", "alpha:1");
    for (int v = 6; v <= 10; v++) {
        char want[32];
        snprintf(want, sizeof want, "churn:%d", v);
        reg_ok("m.h5", "churn", NULL, want);
    }
    char keys_got[512];
    t = list_text(NULL, MS_OK);
    list_keys(t, keys_got, sizeof keys_got);
    CHECK_STREQ(
        keys_got,
        "alpha:1 churn:1 churn:2 churn:3 churn:5 churn:6 churn:7 churn:8 churn:9 churn:10 ");
    CHECK_MSG(strstr(t, "first line"), "notes not on one line: %s", t);
    char short_sha[16];
    snprintf(short_sha, sizeof short_sha, "%.12s ", sha);
    CHECK_MSG(strstr(t, short_sha) && !strstr(t, sha), "sha256 not cut to 12: %s", t);
    free(t);
    t = list_text("alpha", MS_OK);
    list_keys(t, keys_got, sizeof keys_got);
    CHECK_STREQ(keys_got, "alpha:1 ");
    free(t);
    free(list_text("nope", MS_EMODEL));
    free(list_text("x y", MS_EUSAGE));

    /* A damaged meta.json is listed as such and hides nothing; the status
     * says the registry needs repair, and lookup names the reason. */
    snprintf(buf, sizeof buf, "%s/churn/7/meta.json", models);
    write_text(buf, "{\"name\": ");
    t = list_text(NULL, MS_EMODEL);
    list_keys(t, keys_got, sizeof keys_got);
    CHECK_STREQ(
        keys_got,
        "alpha:1 churn:1 churn:2 churn:3 churn:5 churn:6 churn:7 churn:8 churn:9 churn:10 ");
    CHECK_MSG(strstr(t, "\nchurn        7  DAMAGED: meta.json: line 1 column "),
              "no DAMAGED row: %s", t);
    CHECK_MSG(strstr(t, "\nchurn        8  20"), "churn:8 not listed in full: %s", t);
    free(t);
    ms_registry_entry *de = malloc(sizeof *de);
    CHECK_FATAL(de);
    ms_error_clear(&err);
    CHECK(ms_registry_lookup("churn:7", de, &err) == MS_EMODEL);
    snprintf(buf, sizeof buf, "churn:7: %s/churn/7/meta.json: line 1 column ", models);
    CHECK_MSG(!strncmp(err.msg, buf, strlen(buf)), "lookup churn:7: %s", err.msg);
    free(de);

    CHECK(chdir("/") == 0);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    test_sha256();
    test_registry();
    return ms_test_done("test_registry");
}
