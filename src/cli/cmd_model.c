/*
 * cmd_model.c — `mpiscore model ...`: inspect model containers, manage
 * the registry (register, list, info by name or path) and import models
 * from other libraries (import xgboost).
 *
 * Only parses arguments and prints; every rule about names, versions and
 * stored files lives in the registry module, so `run --model` resolves a
 * reference exactly as `model info` does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mpiscore/model.h"
#include "mpiscore/registry.h"
#include "mpiscore/xgb_import.h"

static const char model_usage[] =
    "usage: mpiscore model COMMAND ...\n"
    "\n"
    "  register NAME FILE [--notes TEXT]   store FILE as the next version of NAME; "
    "prints NAME:N\n"
    "  list [NAME]                         registered models and versions\n"
    "  info MODEL                          kind, link, features, outputs and classes\n"
    "  import xgboost IN.json -o OUT.h5    convert an XGBoost JSON model to a container\n"
    "\n"
    "MODEL is a file path, NAME (latest version), NAME:latest or NAME:N.\n"
    "The registry lives in $MPISCORE_HOME/models (default ~/.mpiscore/models).\n";

static const char register_usage[] =
    "usage: mpiscore model register NAME FILE [--notes TEXT]\n"
    "\n"
    "Validate the model container FILE, copy it into the registry as the next\n"
    "version of NAME and print the reference NAME:N. NAME: letters, digits,\n"
    "'.', '_' and '-' (at most 64, starting with a letter or digit).\n"
    "\n"
    "  --notes TEXT   free text stored with the version (shown by list and info)\n";

static const char list_usage[] = "usage: mpiscore model list [NAME]\n"
                                 "\n"
                                 "Registered versions, sorted by name then version: NAME "
                                 "VERSION CREATED KIND SHA256 NOTES.\n";

static const char info_usage[] =
    "usage: mpiscore model info MODEL\n"
    "\n"
    "Describe a model: MODEL is a file path, NAME, NAME:latest or NAME:N.\n"
    "For a registered model, also its version, creation time, sha256 and notes;\n"
    "the stored file is checked against its sha256 first.\n";

static const char import_usage[] =
    "usage: mpiscore model import xgboost IN.json|IN.ubj -o OUT.h5 [--iteration-range B:E]\n"
    "                             [--feature-names A,B,...] [--missing VALUE]\n"
    "                             [--categories CATS.json]\n"
    "\n"
    "Convert an XGBoost model saved as JSON or UBJSON (Booster.save_model(\"model.json\")\n"
    "or \"model.ubj\", or XGBClassifier/XGBRegressor.save_model) into a model container,\n"
    "checking every tree first, and print one summary line. Booster gbtree; objectives\n"
    "binary:logistic, binary:logitraw, reg:logistic, reg:squarederror,\n"
    "reg:squaredlogerror, reg:pseudohubererror, reg:absoluteerror, count:poisson,\n"
    "reg:gamma, reg:tweedie, multi:softprob, multi:softmax, rank:pairwise, rank:ndcg,\n"
    "rank:map, binary:hinge; categorical splits (enable_categorical). dart and gblinear\n"
    "are refused.\n"
    "Predictions match XGBoost's CPU predictor.\n"
    "\n"
    "  -o, --output FILE          the container to write (replaced atomically)\n"
    "  --iteration-range B:E      keep boosting rounds B..E-1 (E 0 = through the last);\n"
    "                             default: rounds 0..best_iteration when the model has\n"
    "                             best_iteration (as XGBClassifier.predict), else all\n"
    "  --feature-names A,B,...    feature names for a model saved without them (default\n"
    "                             f0,f1,...); must equal the model's names if it has them;\n"
    "                             names with commas: @FILE (one per line) or [\"a,b\",\"c\"]\n"
    "  --missing VALUE            inputs equal to VALUE are missing, as DMatrix(missing=VALUE)\n"
    "                             trained them (default: XGBClassifier/XGBRegressor's\n"
    "                             `missing` when the file records it, else NaN only)\n"
    "  --categories CATS.json     {\"col\": [categories in code order], ...}, i.e.\n"
    "                             {c: list(df[c].cat.categories)} of the training frame:\n"
    "                             those columns are read as text and scored by their code;\n"
    "                             a value not in the list is a bad row, an empty cell is\n"
    "                             missing. Without it a categorical column holds the codes\n"
    "                             as numbers\n";

static int is_help(const char *a)
{
    return !strcmp(a, "-h") || !strcmp(a, "--help");
}

static int fail(const ms_error *err, ms_status st)
{
    fprintf(stderr, "mpiscore: error: %s\n", err->msg);
    return st;
}

static int cmd_register(int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL}, *notes = NULL;
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) {
            fputs(register_usage, stdout);
            return MS_OK;
        }
        if (!strcmp(a, "--notes")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mpiscore model register: --notes needs a value\n");
                return MS_EUSAGE;
            }
            notes = argv[++i];
        } else if (!strncmp(a, "--notes=", 8)) {
            notes = a + 8;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr,
                    "mpiscore model register: unknown option \"%s\" (see mpiscore model "
                    "register --help)\n",
                    a);
            return MS_EUSAGE;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            npos++;
        }
    }
    if (npos != 2) {
        fprintf(stderr, "mpiscore model register: expected NAME and FILE (see mpiscore model "
                        "register --help)\n");
        return MS_EUSAGE;
    }
    char ref[MS_REGISTRY_NAME_MAX + 16];
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_registry_register(pos[1], pos[0], notes, ref, sizeof ref, &err);
    if (st != MS_OK)
        return fail(&err, st);
    printf("%s\n", ref);
    return MS_OK;
}

static int cmd_list(int argc, char **argv)
{
    if (argc == 2 && is_help(argv[1])) {
        fputs(list_usage, stdout);
        return MS_OK;
    }
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf(stderr, "mpiscore model list: expected at most one NAME (see mpiscore model list "
                        "--help)\n");
        return MS_EUSAGE;
    }
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_registry_list(argc == 2 ? argv[1] : NULL, stdout, &err);
    return st == MS_OK ? MS_OK : fail(&err, st);
}

static int cmd_info(int argc, char **argv)
{
    if (argc == 2 && is_help(argv[1])) {
        fputs(info_usage, stdout);
        return MS_OK;
    }
    if (argc != 2) {
        fprintf(stderr, "mpiscore model info: expected one MODEL (see mpiscore model --help)\n");
        return MS_EUSAGE;
    }
    ms_model *m = NULL;
    ms_error err;
    ms_error_clear(&err);
    /* The entry is ~10 KB: heap, not the stack. */
    ms_registry_entry *e = malloc(sizeof *e);
    if (!e) {
        fprintf(stderr, "mpiscore: error: out of memory\n");
        return MS_EINTERNAL;
    }
    ms_status st = ms_registry_lookup(argv[1], e, &err);
    if (st == MS_OK)
        st = ms_model_load(e->path, &m, &err);
    if (st != MS_OK) {
        free(e);
        return fail(&err, st);
    }
    if (e->version > 0) {
        printf("model:     %s:%d\n", e->name, e->version);
        printf("created:   %s\n", e->created);
        printf("sha256:    %s\n", e->sha256);
        if (e->notes[0])
            printf("notes:     %s\n", e->notes);
        printf("file:      %s\n", e->path);
        if (e->original_path[0])
            printf("from:      %s\n", e->original_path);
    }
    ms_model_describe(m, stdout);
    ms_model_free(m);
    free(e);
    return MS_OK;
}

/* Option value: "--name VALUE" or "--name=VALUE" (and -o VALUE). NULL
 * when argv[*i] is not this option; *bad when it is but has no value. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, const char *shrt,
                             int *bad)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (!strcmp(a, name) || (shrt && !strcmp(a, shrt))) {
        if (*i + 1 >= argc) {
            *bad = 1;
            return a;
        }
        return argv[++*i];
    }
    if (!strncmp(a, name, n) && a[n] == '=')
        return a + n + 1;
    return NULL;
}

/* "B:E", two whole numbers. */
static int parse_range(const char *s, long long *b, long long *e)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long long x = strtoull(s, &end, 10);
    if (*end != ':' || x > 2147483647ull || end[1] < '0' || end[1] > '9')
        return -1;
    const char *t = end + 1;
    unsigned long long y = strtoull(t, &end, 10);
    if (*end || y > 2147483647ull)
        return -1;
    *b = (long long)x;
    *e = (long long)y;
    return 0;
}

static int cmd_import(int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL}, *out = NULL, *range = NULL, *names = NULL, *missing = NULL;
    const char *cats = NULL;
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int bad = 0;
        if (is_help(a)) {
            fputs(import_usage, stdout);
            return MS_OK;
        }
        if ((v = opt_value(argc, argv, &i, "--output", "-o", &bad)))
            out = v;
        else if ((v = opt_value(argc, argv, &i, "--iteration-range", NULL, &bad)))
            range = v;
        else if ((v = opt_value(argc, argv, &i, "--feature-names", NULL, &bad)))
            names = v;
        else if ((v = opt_value(argc, argv, &i, "--missing", NULL, &bad)))
            missing = v;
        else if ((v = opt_value(argc, argv, &i, "--categories", NULL, &bad)))
            cats = v;
        else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr,
                    "mpiscore model import: unknown option \"%s\" (see mpiscore model import "
                    "--help)\n",
                    a);
            return MS_EUSAGE;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            npos++;
        }
        if (bad) {
            fprintf(stderr, "mpiscore model import: %s needs a value\n", a);
            return MS_EUSAGE;
        }
    }
    if (npos != 2) {
        fprintf(stderr, "mpiscore model import: expected FORMAT and IN (see mpiscore model import "
                        "--help)\n");
        return MS_EUSAGE;
    }
    if (strcmp(pos[0], "xgboost") != 0) {
        fprintf(stderr, "mpiscore model import: unknown format \"%s\" (supported: xgboost)\n",
                pos[0]);
        return MS_EUSAGE;
    }
    if (!out || !*out) {
        fprintf(stderr, "mpiscore model import: -o OUT.h5 is required (see mpiscore model import "
                        "--help)\n");
        return MS_EUSAGE;
    }
    if (!strcmp(out, pos[1])) {
        fprintf(stderr, "mpiscore model import: -o %s would replace the model being imported\n",
                out);
        return MS_EUSAGE;
    }
    ms_xgb_options opt;
    memset(&opt, 0, sizeof opt);
    if (range && parse_range(range, &opt.begin, &opt.end) != 0) {
        fprintf(stderr,
                "mpiscore model import: --iteration-range %s: expected BEGIN:END, whole "
                "numbers (END 0 = through the last round)\n",
                range);
        return MS_EUSAGE;
    }
    opt.has_range = range != NULL;
    if (missing) {
        char *end;
        opt.missing = strtod(missing, &end);
        if (end == missing || *end) {
            fprintf(stderr, "mpiscore model import: --missing %s: expected a number (or nan)\n",
                    missing);
            return MS_EUSAGE;
        }
        opt.has_missing = 1;
    }
    char **name_v = NULL;
    ms_model *m = NULL;
    ms_xgb_summary sum;
    ms_error err;
    ms_error_clear(&err);
    ms_status st = MS_OK;
    if (names) {
        char msg[512];
        if (ms_names_parse("--feature-names", names, &name_v, &opt.n_feature_names, msg,
                           sizeof msg) != 0) {
            fprintf(stderr, "mpiscore model import: %s (see mpiscore model import --help)\n", msg);
            return MS_EUSAGE;
        }
    }
    opt.feature_names = name_v;
    opt.categories_path = cats;
    if (st == MS_OK)
        st = ms_xgb_import_file(pos[1], &opt, &m, &sum, &err);
    if (st == MS_OK)
        st = ms_model_save(m, out, &err);
    int rc = MS_OK;
    if (st != MS_OK) {
        rc = fail(&err, st);
    } else {
        char why[64] = "";
        if (opt.has_range)
            snprintf(why, sizeof why, " (--iteration-range %s)", range);
        else if (sum.used_best_iteration)
            snprintf(why, sizeof why, " (best_iteration %lld)", sum.end - 1);
        printf("%s: %zu trees, boosting rounds %lld..%lld of %lld%s, objective %s (link %s), "
               "%zu features, from xgboost%s%s\n",
               out, sum.n_trees, sum.begin, sum.end - 1, sum.rounds, why, sum.objective,
               ms_link_name(m->link), sum.n_features, sum.version[0] ? " " : "", sum.version);
    }
    ms_model_free(m);
    ms_names_free(name_v, opt.n_feature_names);
    return rc;
}

int ms_cmd_model(int argc, char **argv)
{
    if (argc >= 2 && is_help(argv[1])) {
        fputs(model_usage, stdout);
        return MS_OK;
    }
    if (argc < 2) {
        fprintf(stderr, "mpiscore model: missing subcommand (see mpiscore model --help)\n");
        return MS_EUSAGE;
    }
    if (!strcmp(argv[1], "register"))
        return cmd_register(argc - 1, argv + 1);
    if (!strcmp(argv[1], "list"))
        return cmd_list(argc - 1, argv + 1);
    if (!strcmp(argv[1], "info"))
        return cmd_info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "import"))
        return cmd_import(argc - 1, argv + 1);
    fprintf(stderr, "mpiscore model: unknown subcommand \"%s\" (see mpiscore model --help)\n",
            argv[1]);
    return MS_EUSAGE;
}
