/*
 * cmd_endpoint.c — `mpiscore endpoint ...`: create endpoints, rotate their
 * keys, point their deployments at registry models and split traffic.
 *
 * Only parses arguments and prints; the rules (traffic sums, key hashing,
 * atomic state files) live in src/serve/endpoint.c, which the server reads.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mpiscore/registry.h"
#include "serve/endpoint.h"
#include "serve/serve.h"

static const char ep_usage[] =
    "usage: mpiscore endpoint COMMAND ...\n"
    "\n"
    "  create NAME                       a new endpoint; prints its two keys once\n"
    "  keys NAME [--regenerate primary|secondary]\n"
    "                                    key fingerprints, or a new key in place of one\n"
    "  update NAME [--deployment D=MODEL ...] [--remove-deployment D ...]\n"
    "              [--traffic D=P,...] [--mirror D=P,...|none]\n"
    "                                    set deployments and how traffic is split\n"
    "  show NAME                         deployments, traffic and, while it is served,\n"
    "                                    request rates and latencies\n"
    "  list                              every endpoint\n"
    "  delete NAME                       remove an endpoint\n"
    "\n"
    "`mpiscore serve NAME` serves one. Endpoints live in $MPISCORE_HOME/endpoints\n"
    "(default ~/.mpiscore/endpoints).\n";

static const char create_usage[] =
    "usage: mpiscore endpoint create NAME\n"
    "\n"
    "Create endpoint NAME with two random access keys and print them as\n"
    "`primary: KEY` and `secondary: KEY`. Only their sha256 is stored: keep them.\n"
    "Clients send `Authorization: Bearer KEY`; either key works, so one can be\n"
    "regenerated while clients still use the other.\n";

static const char keys_usage[] =
    "usage: mpiscore endpoint keys NAME [--regenerate primary|secondary]\n"
    "\n"
    "Without --regenerate, print the fingerprint (first 12 hex of the sha256) of\n"
    "each key. With it, replace that key by a new random one and print it as\n"
    "`primary: KEY` (or `secondary: KEY`); a running server accepts it at once and\n"
    "stops accepting the old one.\n";

static const char update_usage[] =
    "usage: mpiscore endpoint update NAME [--deployment D=MODEL ...] [--remove-deployment D ...]\n"
    "                                [--traffic D=P,...] [--mirror D=P,...|none]\n"
    "\n"
    "  --deployment D=MODEL      add deployment D, or point it at another model; MODEL\n"
    "                            is a registered NAME, NAME:latest or NAME:N (resolved\n"
    "                            to NAME:N now)\n"
    "  --remove-deployment D     drop deployment D (it must get no traffic after the update)\n"
    "  --traffic D=P,...         percent of live requests per deployment; deployments not\n"
    "                            listed get 0; the values must add up to 100. Default with\n"
    "                            a single deployment: 100\n"
    "  --mirror D=P,...|none     percent of live requests also scored by D, its answers\n"
    "                            discarded (metrics only); at most 50 in total, and a\n"
    "                            mirror deployment takes no live traffic\n"
    "\n"
    "A running `mpiscore serve NAME` loads and warms the new models, then moves the\n"
    "traffic, without a restart and without failing a request.\n";

static const char show_usage[] = "usage: mpiscore endpoint show NAME\n"
                                 "\n"
                                 "Deployments (model, sha256, traffic, mirror), key "
                                 "fingerprints and, while\n"
                                 "`mpiscore serve NAME` runs, its live request counts, rates "
                                 "and latencies.\n";

static const char list_usage[] = "usage: mpiscore endpoint list\n"
                                 "\n"
                                 "Every endpoint with its deployments and traffic.\n";

static const char delete_usage[] = "usage: mpiscore endpoint delete NAME\n"
                                   "\n"
                                   "Remove endpoint NAME (its keys and configuration; the "
                                   "models stay in the registry).\n";

static int is_help(const char *a)
{
    return !strcmp(a, "-h") || !strcmp(a, "--help");
}

static int fail(const ms_error *err, ms_status st)
{
    fprintf(stderr, "mpiscore: error: %s\n", err->msg);
    return st;
}

static int usage_err(const char *sub, const char *fmt, const char *arg)
{
    fprintf(stderr, "mpiscore endpoint %s: ", sub);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see mpiscore endpoint %s --help)\n", sub);
    return MS_EUSAGE;
}

/* The one positional NAME of a subcommand, or help. Returns -1 to go on. */
static int one_name(const char *sub, const char *usage, int argc, char **argv, const char **name)
{
    *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage, stdout);
            return MS_OK;
        }
        if (argv[i][0] == '-')
            return usage_err(sub, "unknown option \"%s\"", argv[i]);
        if (*name)
            return usage_err(sub, "unexpected argument \"%s\"", argv[i]);
        *name = argv[i];
    }
    if (!*name)
        return usage_err(sub, "expected NAME%s", "");
    return -1;
}

static int cmd_create(int argc, char **argv)
{
    const char *name;
    int rc = one_name("create", create_usage, argc, argv, &name);
    if (rc >= 0)
        return rc;
    char keys[2][MS_EP_KEY_HEX + 1];
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_endpoint_create(name, keys, &err);
    if (st != MS_OK)
        return fail(&err, st);
    printf("primary: %s\nsecondary: %s\n", keys[0], keys[1]);
    return MS_OK;
}

typedef struct regen_arg {
    int which;
    char key[MS_EP_KEY_HEX + 1];
} regen_arg;

static ms_status regen_edit(ms_endpoint *ep, void *arg, ms_error *err)
{
    regen_arg *r = arg;
    ms_status st = ms_endpoint_new_key(r->key, err);
    if (st == MS_OK)
        ms_endpoint_hash_key(r->key, MS_EP_KEY_HEX, ep->key_hash[r->which]);
    return st;
}

static int cmd_keys(int argc, char **argv)
{
    const char *name = NULL, *regen = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) {
            fputs(keys_usage, stdout);
            return MS_OK;
        }
        if (!strcmp(a, "--regenerate")) {
            if (i + 1 >= argc)
                return usage_err("keys", "--regenerate needs primary or secondary%s", "");
            regen = argv[++i];
        } else if (!strncmp(a, "--regenerate=", 13)) {
            regen = a + 13;
        } else if (a[0] == '-') {
            return usage_err("keys", "unknown option \"%s\"", a);
        } else if (name) {
            return usage_err("keys", "unexpected argument \"%s\"", a);
        } else {
            name = a;
        }
    }
    if (!name)
        return usage_err("keys", "expected NAME%s", "");
    ms_error err;
    ms_error_clear(&err);
    if (!regen) {
        ms_endpoint ep;
        ms_status st = ms_endpoint_load(name, &ep, &err);
        if (st != MS_OK)
            return fail(&err, st);
        printf("primary: sha256 %.12s...\nsecondary: sha256 %.12s...\n", ep.key_hash[0],
               ep.key_hash[1]);
        printf("(keys are shown once, by create and --regenerate)\n");
        return MS_OK;
    }
    regen_arg r = {.which = -1};
    if (!strcmp(regen, "primary"))
        r.which = 0;
    else if (!strcmp(regen, "secondary"))
        r.which = 1;
    else
        return usage_err("keys", "--regenerate takes primary or secondary, not \"%s\"", regen);
    ms_status st = ms_endpoint_modify(name, regen_edit, &r, &err);
    if (st != MS_OK)
        return fail(&err, st);
    printf("%s: %s\n", regen, r.key);
    return MS_OK;
}

/* What `update` was asked to do. */
typedef struct update_arg {
    const char *dep[MS_EP_MAX_DEPLOYMENTS * 2];
    size_t n_dep;
    const char *remove[MS_EP_MAX_DEPLOYMENTS * 2];
    size_t n_remove;
    const char *traffic, *mirror;
} update_arg;

/* "a=90,b=10" into the deployments' field at offset off (traffic or mirror);
 * unlisted deployments get 0. */
static ms_status set_split(ms_endpoint *ep, const char *opt, const char *spec, int is_mirror,
                           ms_error *err)
{
    for (size_t i = 0; i < ep->n_dep; i++)
        *(is_mirror ? &ep->dep[i].mirror : &ep->dep[i].traffic) = 0;
    if (is_mirror && !strcmp(spec, "none"))
        return MS_OK;
    char buf[1024];
    if ((size_t)snprintf(buf, sizeof buf, "%s", spec) >= sizeof buf)
        return ms_error_set(err, MS_EUSAGE, "%s: value too long", opt);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return ms_error_set(err, MS_EUSAGE, "%s \"%s\": expected DEPLOYMENT=PERCENT", opt, tok);
        *eq = '\0';
        char *end;
        long p = strtol(eq + 1, &end, 10);
        if (eq[1] == '\0' || *end != '\0' || p < 0 || p > 100)
            return ms_error_set(err, MS_EUSAGE, "%s %s=%s: the percent must be 0..100", opt, tok,
                                eq + 1);
        ms_ep_deployment *d = ms_endpoint_find(ep, tok);
        if (!d)
            return ms_error_set(err, MS_EUSAGE, "%s: no deployment \"%s\" in endpoint \"%s\"", opt,
                                tok, ep->name);
        *(is_mirror ? &d->mirror : &d->traffic) = (int)p;
    }
    return MS_OK;
}

static ms_status update_edit(ms_endpoint *ep, void *arg, ms_error *err)
{
    update_arg *u = arg;
    ms_status st = MS_OK;
    for (size_t i = 0; i < u->n_dep; i++) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", u->dep[i]);
        char *eq = strchr(buf, '=');
        if (!eq || eq == buf || eq[1] == '\0')
            return ms_error_set(
                err, MS_EUSAGE,
                "--deployment \"%s\": expected DEPLOYMENT=MODEL (e.g. blue=churn:3)", u->dep[i]);
        *eq = '\0';
        if (!ms_registry_name_ok(buf))
            return ms_error_set(err, MS_EUSAGE, "--deployment: invalid deployment name \"%s\"",
                                buf);
        ms_registry_entry e;
        ms_error e2;
        if ((st = ms_registry_lookup(eq + 1, &e, &e2)) != MS_OK)
            return ms_error_set(err, st, "--deployment %s: %s", u->dep[i], e2.msg);
        if (e.version == 0)
            return ms_error_set(err, MS_EUSAGE,
                                "--deployment %s: \"%s\" is a file, not a registered model "
                                "(mpiscore model register NAME FILE)",
                                u->dep[i], eq + 1);
        ms_ep_deployment *d = ms_endpoint_find(ep, buf);
        if (!d) {
            if (ep->n_dep == MS_EP_MAX_DEPLOYMENTS)
                return ms_error_set(err, MS_EUSAGE, "at most %d deployments per endpoint",
                                    MS_EP_MAX_DEPLOYMENTS);
            d = &ep->dep[ep->n_dep++];
            memset(d, 0, sizeof *d);
            memcpy(d->name, buf, strlen(buf) + 1); /* ms_registry_name_ok: at most 64 */
        }
        snprintf(d->model, sizeof d->model, "%s:%d", e.name, e.version);
        snprintf(d->sha256, sizeof d->sha256, "%s", e.sha256);
    }
    for (size_t i = 0; i < u->n_remove; i++) {
        ms_ep_deployment *d = ms_endpoint_find(ep, u->remove[i]);
        if (!d)
            return ms_error_set(err, MS_EUSAGE, "--remove-deployment: no deployment \"%s\"",
                                u->remove[i]);
        size_t k = (size_t)(d - ep->dep);
        memmove(d, d + 1, (ep->n_dep - k - 1) * sizeof *d);
        ep->n_dep--;
    }
    if (u->traffic)
        MS_CHECK(set_split(ep, "--traffic", u->traffic, 0, err));
    else if (ep->n_dep == 1 && ep->dep[0].traffic == 0 && ep->dep[0].mirror == 0)
        ep->dep[0].traffic = 100; /* the first deployment; never a silent promotion */
    if (u->mirror)
        MS_CHECK(set_split(ep, "--mirror", u->mirror, 1, err));
done:
    return st;
}

static int cmd_update(int argc, char **argv)
{
    update_arg u;
    memset(&u, 0, sizeof u);
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) {
            fputs(update_usage, stdout);
            return MS_OK;
        }
        const char *opts[] = {"--deployment", "--remove-deployment", "--traffic", "--mirror"};
        int o = -1;
        const char *val = NULL;
        for (int k = 0; k < 4; k++) {
            size_t l = strlen(opts[k]);
            if (!strcmp(a, opts[k])) {
                if (i + 1 >= argc)
                    return usage_err("update", "%s needs a value", opts[k]);
                o = k;
                val = argv[++i];
            } else if (!strncmp(a, opts[k], l) && a[l] == '=') {
                o = k;
                val = a + l + 1;
            }
            if (o >= 0)
                break;
        }
        if (o == 0 || o == 1) {
            size_t *n = o == 0 ? &u.n_dep : &u.n_remove;
            if (*n == MS_EP_MAX_DEPLOYMENTS * 2)
                return usage_err("update", "too many %s options", opts[o]);
            (o == 0 ? u.dep : u.remove)[(*n)++] = val;
        } else if (o == 2) {
            u.traffic = val;
        } else if (o == 3) {
            u.mirror = val;
        } else if (a[0] == '-') {
            return usage_err("update", "unknown option \"%s\"", a);
        } else if (name) {
            return usage_err("update", "unexpected argument \"%s\"", a);
        } else {
            name = a;
        }
    }
    if (!name)
        return usage_err("update", "expected NAME%s", "");
    if (!u.n_dep && !u.n_remove && !u.traffic && !u.mirror)
        return usage_err("update", "nothing to change%s", "");
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_endpoint_modify(name, update_edit, &u, &err);
    if (st != MS_OK) {
        if (st == MS_EUSAGE) {
            fprintf(stderr, "mpiscore endpoint update: %s (see mpiscore endpoint update --help)\n",
                    err.msg);
            return st;
        }
        return fail(&err, st);
    }
    ms_endpoint ep;
    if (ms_endpoint_load(name, &ep, &err) == MS_OK)
        ms_serve_notify(&ep);
    printf("%s: generation %ld\n", name, ep.generation);
    return MS_OK;
}

static int cmd_show(int argc, char **argv)
{
    const char *name;
    int rc = one_name("show", show_usage, argc, argv, &name);
    if (rc >= 0)
        return rc;
    ms_endpoint ep;
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_endpoint_load(name, &ep, &err);
    if (st != MS_OK)
        return fail(&err, st);
    printf("endpoint:   %s\ncreated:    %s\ngeneration: %ld\n", ep.name, ep.created, ep.generation);
    printf("keys:       primary sha256 %.12s..., secondary sha256 %.12s...\n", ep.key_hash[0],
           ep.key_hash[1]);
    if (!ep.n_dep)
        printf("deployments: none (mpiscore endpoint update %s --deployment D=MODEL)\n", name);
    else
        printf("deployments:\n  %-16s %-24s %-14s %7s %6s\n", "NAME", "MODEL", "SHA256", "TRAFFIC",
               "MIRROR");
    for (size_t i = 0; i < ep.n_dep; i++)
        printf("  %-16s %-24s %.12s %6d%% %5d%%\n", ep.dep[i].name, ep.dep[i].model,
               ep.dep[i].sha256, ep.dep[i].traffic, ep.dep[i].mirror);
    ms_serve_print_live(&ep, stdout);
    return MS_OK;
}

static int cmd_list(int argc, char **argv)
{
    if (argc == 2 && is_help(argv[1])) {
        fputs(list_usage, stdout);
        return MS_OK;
    }
    if (argc > 1)
        return usage_err("list", "unexpected argument \"%s\"", argv[1]);
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_endpoint_list(stdout, &err);
    return st == MS_OK ? MS_OK : fail(&err, st);
}

static int cmd_delete(int argc, char **argv)
{
    const char *name;
    int rc = one_name("delete", delete_usage, argc, argv, &name);
    if (rc >= 0)
        return rc;
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_endpoint_delete(name, &err);
    if (st != MS_OK)
        return fail(&err, st);
    printf("deleted endpoint %s\n", name);
    return MS_OK;
}

int ms_cmd_endpoint(int argc, char **argv)
{
    if (argc < 2) {
        fputs(ep_usage, stderr);
        return MS_EUSAGE;
    }
    const char *sub = argv[1];
    if (is_help(sub) || !strcmp(sub, "help")) {
        fputs(ep_usage, stdout);
        return MS_OK;
    }
    if (!strcmp(sub, "create"))
        return cmd_create(argc - 1, argv + 1);
    if (!strcmp(sub, "keys"))
        return cmd_keys(argc - 1, argv + 1);
    if (!strcmp(sub, "update"))
        return cmd_update(argc - 1, argv + 1);
    if (!strcmp(sub, "show"))
        return cmd_show(argc - 1, argv + 1);
    if (!strcmp(sub, "list"))
        return cmd_list(argc - 1, argv + 1);
    if (!strcmp(sub, "delete"))
        return cmd_delete(argc - 1, argv + 1);
    fprintf(stderr, "mpiscore endpoint: unknown command \"%s\" (see mpiscore endpoint --help)\n",
            sub);
    return MS_EUSAGE;
}
