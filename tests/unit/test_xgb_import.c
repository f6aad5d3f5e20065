/*
 * test_xgb_import.c — the XGBoost JSON importer: a small hand-written model
 * (shaped exactly like XGBoost 1.7's save_model output) imported field by
 * field and scored with the reference kernel, then every refusal with its
 * exact message and status.
 *
 * Broken models are the good one with one substring replaced, so each case
 * differs from a valid file in exactly one way. Runs in a scratch
 * directory (round trip through ms_model_save / ms_model_load).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp */
#endif
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "mpiscore/kernels.h"
#include "mpiscore/model.h"
#include "mpiscore/xgb_import.h"

/* binary:logistic, 3 features, 2 rounds. Tree 0:
 *   0: a < 0.5 (missing: left) -> 1, 2
 *   1: leaf 0.25
 *   2: b < -1 (missing: right) -> 3, 4
 *   3: leaf -0.5
 *   4: leaf 1.5
 * Tree 1: a single leaf 0.125. base_score 0.25. */
static const char good[] =
    "{\"learner\":{\"attributes\":{\"best_iteration\":\"1\",\"best_ntree_limit\":\"2\"},"
    "\"feature_names\":[\"a\",\"b\",\"c\"],\"feature_types\":[\"float\",\"float\",\"float\"],"
    "\"gradient_booster\":{\"model\":{\"gbtree_model_param\":{\"num_parallel_tree\":\"1\","
    "\"num_trees\":\"2\",\"size_leaf_vector\":\"0\"},\"tree_info\":[0,0],\"trees\":["
    "{\"base_weights\":[0E0,0E0,0E0,0E0,0E0],\"categories\":[],\"categories_nodes\":[],"
    "\"categories_segments\":[],\"categories_sizes\":[],\"default_left\":[1,0,0,0,0],\"id\":0,"
    "\"left_children\":[1,-1,3,-1,-1],\"loss_changes\":[1E0,0E0,1E0,0E0,0E0],"
    "\"parents\":[2147483647,0,0,2,2],\"right_children\":[2,-1,4,-1,-1],"
    "\"split_conditions\":[5E-1,2.5E-1,-1E0,-5E-1,1.5E0],\"split_indices\":[0,0,1,0,0],"
    "\"split_type\":[0,0,0,0,0],\"sum_hessian\":[4E0,2E0,2E0,1E0,1E0],"
    "\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"3\",\"num_nodes\":\"5\","
    "\"size_leaf_vector\":\"0\"}},"
    "{\"base_weights\":[0E0],\"categories\":[],\"categories_nodes\":[],\"categories_segments\":[],"
    "\"categories_sizes\":[],\"default_left\":[0],\"id\":1,\"left_children\":[-1],"
    "\"loss_changes\":[0E0],\"parents\":[2147483647],\"right_children\":[-1],"
    "\"split_conditions\":[1.25E-1],\"split_indices\":[0],\"split_type\":[0],"
    "\"sum_hessian\":[4E0],\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"3\","
    "\"num_nodes\":\"1\",\"size_leaf_vector\":\"0\"}}]},\"name\":\"gbtree\"},"
    "\"learner_model_param\":{\"base_score\":\"2.5E-1\",\"boost_from_average\":\"1\","
    "\"num_class\":\"0\",\"num_feature\":\"3\",\"num_target\":\"1\"},"
    "\"objective\":{\"name\":\"binary:logistic\",\"reg_loss_param\":{\"scale_pos_weight\":\"1\"}}},"
    "\"version\":[1,7,4]}";

/* multi:softprob, 3 classes, 2 features, one round of single-leaf trees,
 * listed out of id order (XGBoost places trees by id). */
static const char multi[] =
    "{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],"
    "\"gradient_booster\":{\"model\":{\"gbtree_model_param\":{\"num_parallel_tree\":\"1\","
    "\"num_trees\":\"3\",\"size_leaf_vector\":\"0\"},\"tree_info\":[0,1,2],\"trees\":["
    "{\"default_left\":[0],\"id\":2,\"left_children\":[-1],\"right_children\":[-1],"
    "\"split_conditions\":[3E-1],\"split_indices\":[0],\"split_type\":[0],"
    "\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"2\",\"num_nodes\":\"1\","
    "\"size_leaf_vector\":\"0\"}},"
    "{\"default_left\":[0],\"id\":0,\"left_children\":[-1],\"right_children\":[-1],"
    "\"split_conditions\":[1E-1],\"split_indices\":[0],\"split_type\":[0],"
    "\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"2\",\"num_nodes\":\"1\","
    "\"size_leaf_vector\":\"0\"}},"
    "{\"default_left\":[0],\"id\":1,\"left_children\":[-1],\"right_children\":[-1],"
    "\"split_conditions\":[2E-1],\"split_indices\":[0],\"split_type\":[0],"
    "\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"2\",\"num_nodes\":\"1\","
    "\"size_leaf_vector\":\"0\"}}]},\"name\":\"gbtree\"},"
    "\"learner_model_param\":{\"base_score\":\"5E-1\",\"num_class\":\"3\",\"num_feature\":\"2\"},"
    "\"objective\":{\"name\":\"multi:softprob\",\"softmax_multiclass_param\":{\"num_class\":\"3\"}}"
    "},"
    "\"version\":[1,7,4]}";

/* base with the single occurrence of `from` replaced by `to` (malloc'd). */
static char *edit(const char *base, const char *from, const char *to)
{
    const char *at = strstr(base, from);
    CHECK_MSG(at != NULL, "\"%s\" not in the model", from);
    CHECK_MSG(!at || !strstr(at + 1, from), "\"%s\" occurs twice", from);
    if (!at)
        exit(1);
    size_t n = strlen(base) - strlen(from) + strlen(to);
    char *s = malloc(n + 1);
    CHECK_FATAL(s != NULL);
    size_t pre = (size_t)(at - base);
    memcpy(s, base, pre);
    strcpy(s + pre, to);
    strcat(s, at + strlen(from));
    return s;
}

static ms_model *import_ok(const char *json, size_t len, const ms_xgb_options *opt,
                           ms_xgb_summary *sum, int line)
{
    ms_model *m = NULL;
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_xgb_import(json, len, "m.json", opt, &m, sum, &err);
    CHECK_MSG(st == MS_OK, "line %d: %s", line, err.msg);
    if (st != MS_OK)
        exit(1);
    return m;
}
#define IMPORT_OK(json, opt, sum) import_ok(json, strlen(json), opt, sum, __LINE__)

static void expect_error(const char *json, size_t len, const ms_xgb_options *opt, ms_status code,
                         const char *msg, int line)
{
    ms_model *m = (ms_model *)1;
    ms_error err;
    ms_error_clear(&err);
    ms_status st = ms_xgb_import(json, len, "m.json", opt, &m, NULL, &err);
    CHECK_MSG(st == code, "line %d: status %d, expected %d (%s)", line, st, code, err.msg);
    CHECK_MSG(m == NULL, "line %d: *out not NULL on failure", line);
    CHECK_MSG(strcmp(err.msg, msg) == 0, "line %d:\n  got      \"%s\"\n  expected \"%s\"", line,
              err.msg, msg);
    if (st == MS_OK)
        ms_model_free(m);
}
#define ERROR_LEN(json, len, code, msg) expect_error(json, len, NULL, code, msg, __LINE__)
#define ERROR_STR(json, code, msg) expect_error(json, strlen(json), NULL, code, msg, __LINE__)
#define ERROR_OPT(json, opt, code, msg) expect_error(json, strlen(json), opt, code, msg, __LINE__)

/* The good model with one edit must be refused with msg (MS_EMODEL). */
static void expect_edit_error(const char *base, const char *from, const char *to, const char *msg,
                              int line)
{
    char *s = edit(base, from, to);
    expect_error(s, strlen(s), NULL, MS_EMODEL, msg, line);
    free(s);
}
#define EDIT_ERROR(from, to, msg) expect_edit_error(good, from, to, msg, __LINE__)

/* Tree 0 with split types `types` and the given categories arrays. */
static void expect_cat_error(const char *types, const char *nodes, const char *segs,
                             const char *sizes, const char *cats, const char *msg, int line)
{
    char to[512];
    snprintf(to, sizeof to, "\"split_type\":%s", types);
    char *s = edit(good, "\"split_type\":[0,0,0,0,0]", to);
    snprintf(to, sizeof to,
             "\"categories\":%s,\"categories_nodes\":%s,\"categories_segments\":%s,"
             "\"categories_sizes\":%s,\"default_left\":[1,0,0,0,0]",
             cats, nodes, segs, sizes);
    expect_edit_error(s,
                      "\"categories\":[],\"categories_nodes\":[],\"categories_segments\":[],"
                      "\"categories_sizes\":[],\"default_left\":[1,0,0,0,0]",
                      to, msg, line);
    free(s);
}
#define CAT_ERROR(types, nodes, segs, sizes, cats, msg)                                            \
    expect_cat_error(types, nodes, segs, sizes, cats, msg, __LINE__)

/* raw scores of one row with the reference kernel */
static float raw1(const ms_model *m, const float *x)
{
    float r[8];
    CHECK_FATAL(m->n_raw <= 8);
    ms_trees_scalar(m, x, 1, r);
    return r[0];
}

static void test_good(void)
{
    ms_xgb_summary sum;
    ms_model *m = IMPORT_OK(good, NULL, &sum);
    CHECK(m->kind == MS_KIND_TREES);
    CHECK(m->link == MS_LINK_LOGISTIC);
    CHECK(m->n_features == 3);
    CHECK_STREQ(m->feature_names[0], "a");
    CHECK_STREQ(m->feature_names[2], "c");
    CHECK(m->n_raw == 1 && m->n_outputs == 2 && m->n_classes == 2);
    CHECK_STREQ(m->output_names[0], "p_0");
    CHECK_STREQ(m->output_names[1], "p_1");
    CHECK_STREQ(m->class_labels[0], "0");
    CHECK_STREQ(m->class_labels[1], "1");
    CHECK_STREQ(m->source, "xgboost 1.7.4");
    const ms_trees *t = &m->trees;
    CHECK(t->n_trees == 2 && t->n_nodes == 6 && t->leaf_width == 1);
    CHECK(t->node_offset[0] == 0 && t->node_offset[1] == 5 && t->node_offset[2] == 6);
    const int32_t feat[] = {0, -1, 1, -1, -1, -1}, left[] = {1, -1, 3, -1, -1, -1},
                  right[] = {2, -1, 4, -1, -1, -1};
    const double thr[] = {0.5, 0, -1, 0, 0, 0}, val[] = {0, 0.25, 0, -0.5, 1.5, 0.125};
    const uint8_t ml[] = {1, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < 6; i++) {
        CHECK_MSG(t->feature[i] == feat[i], "feature[%zu] = %d", i, t->feature[i]);
        CHECK_MSG(t->left[i] == left[i] && t->right[i] == right[i], "children of %zu", i);
        CHECK_MSG(t->threshold[i] == thr[i], "threshold[%zu] = %g", i, t->threshold[i]);
        CHECK_MSG(t->value[i] == val[i], "value[%zu] = %g", i, t->value[i]);
        CHECK_MSG(t->missing_left[i] == ml[i], "missing_left[%zu]", i);
    }
    CHECK(t->tree_output[0] == 0 && t->tree_output[1] == 0);
    /* LogisticRegression::ProbToMargin, in float */
    float margin = -logf(1.0f / 0.25f - 1.0f);
    CHECK_MSG(t->base_score[0] == (double)margin, "base_score %.17g", t->base_score[0]);
    CHECK(t->split == MS_SPLIT_LT && !t->missing_is_error && !t->mean && t->float32_sum);
    CHECK(t->max_depth == 2 && t->n_leaves == 4);
    CHECK_STREQ(sum.objective, "binary:logistic");
    CHECK_STREQ(sum.version, "1.7.4");
    CHECK(sum.rounds == 2 && sum.begin == 0 && sum.end == 2 && sum.used_best_iteration);
    CHECK(sum.n_trees == 2 && sum.n_features == 3);

    /* x < threshold goes left, NaN follows default_left, sums in float32 */
    float nan = NAN;
    float rows[][3] = {{0.4f, 5, 0}, {nan, 5, 0}, {0.5f, -2, 0}, {0.6f, nan, 0}, {0.5f, -1, 0}};
    float leaf[] = {0.25f, 0.25f, -0.5f, 1.5f, 1.5f};
    for (size_t r = 0; r < 5; r++) {
        float want = margin;
        want += leaf[r];
        want += 0.125f;
        float got = raw1(m, rows[r]);
        CHECK_MSG(got == want, "row %zu: %.9g, expected %.9g", r, got, want);
    }

    /* the model comes back ready to score on every ISA, all alike */
    float want[10], got[10], scratch[64];
    CHECK_FATAL(ms_predict_scratch_floats(m, 5) <= 64);
    ms_predict(m, MS_ISA_SCALAR, &rows[0][0], 5, want, scratch);
    for (int isa = MS_ISA_AVX2; isa < MS_ISA_COUNT; isa++) {
        if (!ms_isa_supported((ms_isa)isa))
            continue;
        ms_predict(m, (ms_isa)isa, &rows[0][0], 5, got, scratch);
        CHECK_MSG(memcmp(got, want, sizeof got) == 0, "%s differs from scalar",
                  ms_isa_name((ms_isa)isa));
    }

    /* the container round trip keeps every array */
    ms_error err;
    ms_error_clear(&err);
    CHECK_MSG(ms_model_save(m, "x.h5", &err) == MS_OK, "%s", err.msg);
    ms_model *l = NULL;
    CHECK_MSG(ms_model_load("x.h5", &l, &err) == MS_OK, "%s", err.msg);
    if (l) {
        CHECK(l->trees.n_nodes == 6 && l->trees.float32_sum && l->trees.split == MS_SPLIT_LT);
        CHECK(l->trees.base_score[0] == t->base_score[0]);
        for (size_t r = 0; r < 5; r++)
            CHECK(raw1(l, rows[r]) == raw1(m, rows[r]));
        ms_model_free(l);
    }
    unlink("x.h5");
    ms_model_free(m);
}

static void test_rounds(void)
{
    ms_xgb_summary sum;
    ms_xgb_options o;
    memset(&o, 0, sizeof o);
    float x[3] = {0.4f, 5, 0};
    float margin = -logf(1.0f / 0.25f - 1.0f);

    /* best_iteration 0: the first round only */
    char *s = edit(good, "\"best_iteration\":\"1\"", "\"best_iteration\":\"0\"");
    ms_model *m = IMPORT_OK(s, NULL, &sum);
    CHECK(m->trees.n_trees == 1 && sum.end == 1 && sum.used_best_iteration);
    CHECK(raw1(m, x) == margin + 0.25f);
    ms_model_free(m);
    /* an iteration range overrides it; 0:0 = all, 1:2 = the second round */
    o.has_range = 1;
    m = IMPORT_OK(s, &o, &sum);
    CHECK(m->trees.n_trees == 2 && sum.begin == 0 && sum.end == 2 && !sum.used_best_iteration);
    ms_model_free(m);
    o.begin = 1;
    o.end = 2;
    m = IMPORT_OK(s, &o, &sum);
    CHECK(m->trees.n_trees == 1 && m->trees.n_nodes == 1 && m->trees.value[0] == 0.125);
    CHECK(raw1(m, x) == margin + 0.125f);
    ms_model_free(m);
    o.begin = 2;
    o.end = 0;
    ERROR_OPT(s, &o, MS_EUSAGE,
              "m.json: iteration range 2:0 does not fit the model's 2 boosting rounds (BEGIN < "
              "END <= 2, END 0 = the last round)");
    o.begin = 0;
    o.end = 3;
    ERROR_OPT(s, &o, MS_EUSAGE,
              "m.json: iteration range 0:3 does not fit the model's 2 boosting rounds (BEGIN < "
              "END <= 2, END 0 = the last round)");
    free(s);
    /* without best_iteration: all rounds */
    s = edit(good, "\"best_iteration\":\"1\",", "");
    m = IMPORT_OK(s, NULL, &sum);
    CHECK(m->trees.n_trees == 2 && sum.end == 2 && !sum.used_best_iteration);
    ms_model_free(m);
    free(s);
    EDIT_ERROR("\"best_iteration\":\"1\"", "\"best_iteration\":\"2\"",
               "m.json: learner.attributes.best_iteration = 2 but the model has 2 boosting rounds "
               "(choose rounds with an iteration range)");
    EDIT_ERROR("\"best_iteration\":\"1\"", "\"best_iteration\":\"-1\"",
               "m.json: learner.attributes.best_iteration = \"-1\" is not a non-negative integer");
}

static void test_multi_and_names(void)
{
    ms_xgb_summary sum;
    ms_model *m = IMPORT_OK(multi, NULL, &sum);
    CHECK(m->link == MS_LINK_SOFTMAX && m->n_raw == 3 && m->n_outputs == 3 && m->n_classes == 3);
    CHECK_STREQ(m->output_names[2], "p_2");
    CHECK_STREQ(m->class_labels[2], "2");
    /* no names in the file: XGBoost's own f0, f1 */
    CHECK_STREQ(m->feature_names[0], "f0");
    CHECK_STREQ(m->feature_names[1], "f1");
    /* trees in id order, tree_info by id */
    CHECK(m->trees.value[0] == (double)0.1f && m->trees.value[1] == (double)0.2f &&
          m->trees.value[2] == (double)0.3f);
    CHECK(m->trees.tree_output[0] == 0 && m->trees.tree_output[2] == 2);
    float x[2] = {0, 0}, r[3];
    ms_trees_scalar(m, x, 1, r);
    CHECK(r[0] == 0.5f + 0.1f && r[1] == 0.5f + 0.2f && r[2] == 0.5f + 0.3f);
    CHECK(sum.rounds == 1 && !sum.used_best_iteration);
    ms_model_free(m);

    char *names[] = {"x", "y"};
    ms_xgb_options o;
    memset(&o, 0, sizeof o);
    o.feature_names = names;
    o.n_feature_names = 2;
    m = IMPORT_OK(multi, &o, NULL);
    CHECK_STREQ(m->feature_names[0], "x");
    CHECK_STREQ(m->feature_names[1], "y");
    ms_model_free(m);
    o.n_feature_names = 1;
    ERROR_OPT(multi, &o, MS_EUSAGE,
              "m.json: 1 feature names were given but the model has 2 features");
    char *dup[] = {"x", "x"}, *empty[] = {"x", ""};
    o.n_feature_names = 2;
    o.feature_names = dup;
    ERROR_OPT(multi, &o, MS_EUSAGE, "m.json: given feature name \"x\" is repeated");
    o.feature_names = empty;
    ERROR_OPT(multi, &o, MS_EUSAGE, "m.json: given feature name 2 is empty");
    /* the model has names: given ones must agree (splits are positional) */
    char *same[] = {"a", "b", "c"}, *other[] = {"a", "c", "b"};
    o.feature_names = same;
    o.n_feature_names = 3;
    m = IMPORT_OK(good, &o, NULL);
    ms_model_free(m);
    o.feature_names = other;
    ERROR_OPT(good, &o, MS_EUSAGE,
              "m.json: given feature name 2 \"c\" differs from the model's \"b\"");

    char *s =
        edit(multi, "\"num_class\":\"3\",\"num_feature\"", "\"num_class\":\"1\",\"num_feature\"");
    ERROR_OPT(s, NULL, MS_EMODEL,
              "m.json: learner.learner_model_param.num_class = 1: objective multi:softprob needs "
              "at least 2 classes");
    free(s);
    s = edit(multi, "\"tree_info\":[0,1,2]", "\"tree_info\":[0,1,3]");
    ERROR_OPT(s, NULL, MS_EMODEL,
              "m.json: learner.gradient_booster.model.tree_info[2] is not an output group in 0..2");
    free(s);
    s = edit(multi, "\"id\":0", "\"id\":2");
    ERROR_OPT(s, NULL, MS_EMODEL,
              "m.json: learner.gradient_booster.model.trees[1].id = 2 is used "
              "twice");
    free(s);
    s = edit(multi, "\"id\":0", "\"id\":3");
    ERROR_OPT(s, NULL, MS_EMODEL,
              "m.json: learner.gradient_booster.model.trees[1].id = 3 is out of range (3 trees)");
    free(s);
    EDIT_ERROR("\"num_class\":\"0\"", "\"num_class\":\"2\"",
               "m.json: learner.learner_model_param.num_class = 2 with objective binary:logistic "
               "(expected 0)");
}

/* Other objectives: link, outputs and base margin. */
static void test_objectives(void)
{
    static const struct {
        const char *name;
        ms_link link;
        size_t n_outputs, n_classes;
        const char *first_output;
    } cases[] = {
        {"binary:logitraw", MS_LINK_IDENTITY, 1, 2, "score"},
        {"reg:logistic", MS_LINK_LOGISTIC, 1, 0, "score"},
        {"reg:squarederror", MS_LINK_IDENTITY, 1, 0, "score"},
        {"reg:squaredlogerror", MS_LINK_IDENTITY, 1, 0, "score"},
        {"reg:pseudohubererror", MS_LINK_IDENTITY, 1, 0, "score"},
        {"reg:absoluteerror", MS_LINK_IDENTITY, 1, 0, "score"},
        {"count:poisson", MS_LINK_EXP, 1, 0, "score"},
        {"reg:gamma", MS_LINK_EXP, 1, 0, "score"},
        {"reg:tweedie", MS_LINK_EXP, 1, 0, "score"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char to[64];
        snprintf(to, sizeof to, "\"name\":\"%s\"", cases[i].name);
        char *s = edit(good, "\"name\":\"binary:logistic\"", to);
        ms_model *m = IMPORT_OK(s, NULL, NULL);
        CHECK_MSG(m->link == cases[i].link, "%s: link %d", cases[i].name, (int)m->link);
        CHECK_MSG(m->n_outputs == cases[i].n_outputs && m->n_classes == cases[i].n_classes,
                  "%s: %zu outputs, %zu classes", cases[i].name, m->n_outputs, m->n_classes);
        CHECK_STREQ(m->output_names[0], cases[i].first_output);
        double want = cases[i].link == MS_LINK_EXP        ? (double)logf(0.25f)
                      : cases[i].link == MS_LINK_LOGISTIC ? (double)-logf(1.0f / 0.25f - 1.0f)
                                                          : 0.25;
        CHECK_MSG(m->trees.base_score[0] == want, "%s: base_score %.17g", cases[i].name,
                  m->trees.base_score[0]);
        if (m->n_classes)
            CHECK_STREQ(m->class_labels[1], "1");
        ms_model_free(m);
        free(s);
    }
    EDIT_ERROR("\"name\":\"binary:logistic\"", "\"name\":\"survival:cox\"",
               "m.json: objective \"survival:cox\" is not supported (binary:logistic, "
               "binary:logitraw, reg:logistic, reg:squarederror, reg:squaredlogerror, "
               "reg:pseudohubererror, reg:absoluteerror, count:poisson, reg:gamma, reg:tweedie, "
               "multi:softprob, multi:softmax, rank:pairwise, rank:ndcg, rank:map, binary:hinge)");
    EDIT_ERROR("\"base_score\":\"2.5E-1\"", "\"base_score\":\"1E0\"",
               "m.json: learner.learner_model_param.base_score = 1E0 must be in (0, 1) for "
               "objective binary:logistic");
    EDIT_ERROR("\"base_score\":\"2.5E-1\"", "\"base_score\":\"0x1p-2\"",
               "m.json: learner.learner_model_param.base_score = \"0x1p-2\" is not a number");
    EDIT_ERROR("\"base_score\":\"2.5E-1\"", "\"base_score\":\"NaN\"",
               "m.json: learner.learner_model_param.base_score = \"NaN\" is not a number");
    EDIT_ERROR("\"base_score\":\"2.5E-1\"", "\"base_score\":\"1E39\"",
               "m.json: learner.learner_model_param.base_score = \"1E39\" is out of float32 "
               "range");
    char *s = edit(good, "\"name\":\"binary:logistic\"", "\"name\":\"count:poisson\"");
    char *s2 = edit(s, "\"base_score\":\"2.5E-1\"", "\"base_score\":\"0E0\"");
    ERROR_OPT(s2, NULL, MS_EMODEL,
              "m.json: learner.learner_model_param.base_score = 0E0 must be positive for "
              "objective count:poisson");
    free(s);
    free(s2);
}

static void test_refusals(void)
{
    /* not JSON: jansson's message with line:column */
    ERROR_STR("{\"learner\": [1,}", MS_EMODEL, "m.json:1:16: unexpected token near '}'");
    ERROR_STR("", MS_EMODEL, "m.json:1:0: '[' or '{' expected near end of file");
    ERROR_STR("{\"learner\":{},\n\"learner\":{}}", MS_EMODEL,
              "m.json:2:9: duplicate object key near '\"learner\"'");
    ERROR_STR("{\"learner\":{\"x\":1e999}}", MS_EMODEL,
              "m.json:1:21: real number overflow near '1e999'");
    /* other XGBoost formats: UBJSON is read (damaged UBJSON is refused by
     * byte offset), the old binary format is not */
    ERROR_LEN("{L\0\0\0\0\0\0\0\7learner{", 19, MS_EMODEL,
              "m.json: UBJSON at byte 18: expected an integer marker (i U I l L)");
    ERROR_STR("{i\7learner{", MS_EMODEL, "m.json: UBJSON at byte 11: the file ends inside a value");
    ERROR_LEN("{i\7learner[$d#L\x7f\0\0\0\0\0\0\0", 23, MS_EMODEL,
              "m.json: UBJSON at byte 23: a length larger than the rest of the file");
    ERROR_STR("{i\1a[]i\1aZ}", MS_EMODEL, "m.json: UBJSON at byte 9: a key is given twice");
    ERROR_STR("[i\1]i", MS_EMODEL, "m.json: UBJSON at byte 4: bytes after the document");
    ERROR_STR("[i\1", MS_EMODEL, "m.json: UBJSON at byte 3: the file ends inside a value");
    ERROR_STR("[i\1X]", MS_EMODEL, "m.json: UBJSON at byte 3: unknown marker 0x58");
    ERROR_STR("{i\7learner[]}", MS_EMODEL, "m.json: learner is an array, expected an object");
    ERROR_LEN("binf\0\0\0?", 8, MS_EMODEL,
              "m.json: expected an XGBoost JSON or UBJSON model (save_model with a .json or "
              ".ubj name); this looks like another binary file (the old binary format?)");
    ERROR_STR("[1, 2]", MS_EMODEL,
              "m.json: not an XGBoost model (the top level is an array, not an object)");
    ERROR_STR("{\"version\": [1, 7, 4]}", MS_EMODEL,
              "m.json: not an XGBoost model (no \"learner\" object)");

    /* missing fields, wrong types, lengths that disagree */
    EDIT_ERROR("\"trees\":[", "\"treez\":[",
               "m.json: learner.gradient_booster.model.trees is missing");
    EDIT_ERROR("\"num_feature\":\"3\",\"num_target\"", "\"num_feature\":3,\"num_target\"",
               "m.json: learner.learner_model_param.num_feature is a number, expected a string");
    EDIT_ERROR("\"num_feature\":\"3\",\"num_target\"", "\"num_feature\":\"3x\",\"num_target\"",
               "m.json: learner.learner_model_param.num_feature = \"3x\" is not a non-negative "
               "integer");
    EDIT_ERROR("\"num_feature\":\"3\",\"num_target\"", "\"num_feature\":\"0\",\"num_target\"",
               "m.json: learner.learner_model_param.num_feature = 0: the model has no features");
    EDIT_ERROR("\"num_feature\":\"3\",\"num_target\"",
               "\"num_feature\":\"99999999999\",\"num_target\"",
               "m.json: learner.learner_model_param.num_feature = 99999999999 is too large (at "
               "most 16777216)");
    EDIT_ERROR("\"objective\":{\"name\":\"binary:logistic\",", "\"objective\":{\"name\":7,",
               "m.json: learner.objective.name is a number, expected a string");
    EDIT_ERROR("\"left_children\":[1,-1,3,-1,-1]", "\"left_children\":[1,-1,3,-1]",
               "m.json: learner.gradient_booster.model.trees[0].left_children has 4 values but "
               "tree_param.num_nodes = 5");
    EDIT_ERROR("\"num_trees\":\"2\"", "\"num_trees\":\"3\"",
               "m.json: learner.gradient_booster.model.gbtree_model_param.num_trees = 3 but "
               "learner.gradient_booster.model.trees has 2 trees");
    EDIT_ERROR("\"id\":1,", "\"id\":1.5,",
               "m.json: learner.gradient_booster.model.trees[1].id is a number, expected an "
               "integer");
    EDIT_ERROR("\"tree_info\":[0,0]", "\"tree_info\":[0]",
               "m.json: learner.gradient_booster.model.tree_info has 1 entries but there are 2 "
               "trees");
    EDIT_ERROR("\"tree_info\":[0,0]", "\"tree_info\":[0,1]",
               "m.json: learner.gradient_booster.model.tree_info[1] is not an output group in "
               "0..0");
    EDIT_ERROR("\"num_parallel_tree\":\"1\"", "\"num_parallel_tree\":\"3\"",
               "m.json: 2 trees are not whole boosting rounds of 3 (num_parallel_tree 3 x 1 "
               "output groups)");
    EDIT_ERROR("\"num_target\":\"1\"", "\"num_target\":\"2\"",
               "m.json: learner.learner_model_param.num_target = 2: multi-target models are not "
               "supported");
    EDIT_ERROR("\"version\":[1,7,4]", "\"version\":[0,90,0]",
               "m.json: models saved by XGBoost 0.90 are not supported (1.0 or later)");
    EDIT_ERROR("\"name\":\"gbtree\"", "\"name\":\"dart\"",
               "m.json: booster \"dart\" is not supported (its trees are scaled by weight_drop "
               "when predicting): only gbtree");
    EDIT_ERROR("\"name\":\"gbtree\"", "\"name\":\"gblinear\"",
               "m.json: booster \"gblinear\" is not supported: only gbtree");

    /* corrupt trees, named by tree and node */
    EDIT_ERROR("\"left_children\":[1,-1,3,-1,-1]", "\"left_children\":[1,-1,7,-1,-1]",
               "m.json: tree 0 node 2: left child 7 is out of range (the tree has 5 nodes)");
    EDIT_ERROR("\"right_children\":[2,-1,4,-1,-1]", "\"right_children\":[2,-1,5,-1,-1]",
               "m.json: tree 0 node 2: right child 5 is out of range (the tree has 5 nodes)");
    EDIT_ERROR("\"right_children\":[2,-1,4,-1,-1]", "\"right_children\":[3,-1,4,-1,-1]",
               "m.json: tree 0 node 0: right child 3 is not left child + 1 (XGBoost predicts with "
               "node 2)");
    /* node 2 points back at the root (its ancestor) */
    char *s = edit(good, "\"left_children\":[1,-1,3,-1,-1]", "\"left_children\":[1,-1,0,-1,-1]");
    char *s2 = edit(s, "\"right_children\":[2,-1,4,-1,-1]", "\"right_children\":[2,-1,1,-1,-1]");
    ERROR_OPT(s2, NULL, MS_EMODEL,
              "m.json: tree 0 node 2: child 0 is reached twice (a cycle or a shared node)");
    free(s);
    free(s2);
    EDIT_ERROR("\"right_children\":[2,-1,4,-1,-1]", "\"right_children\":[2,-1,4,-1,3]",
               "m.json: tree 0 node 4: left child -1 (a leaf) but right child 3");
    EDIT_ERROR("\"left_children\":[1,-1,3,-1,-1]", "\"left_children\":[1,-1,3,\"x\",-1]",
               "m.json: tree 0 node 3: left_children is not an integer");
    EDIT_ERROR("\"split_indices\":[0,0,1,0,0]", "\"split_indices\":[0,0,3,0,0]",
               "m.json: tree 0 node 2: split feature 3 >= num_feature 3");
    EDIT_ERROR("\"split_indices\":[0,0,1,0,0]", "\"split_indices\":[-1,0,1,0,0]",
               "m.json: tree 0 node 0: split feature -1 is negative, num_feature 3");
    EDIT_ERROR("\"split_type\":[0,0,0,0,0]", "\"split_type\":[0,0,3,0,0]",
               "m.json: tree 0 node 2: split_type must be 0 (numerical) or 1 (categorical)");
    /* categorical splits: the categories that go right, per listed node */
    CAT_ERROR("[0,0,1,0,0]", "[2]", "[0]", "[1]", "[-3]",
              "m.json: tree 0 node 2: categories[0] is not a category (an integer in "
              "0..16777215)");
    CAT_ERROR("[0,0,1,0,0]", "[2]", "[0]", "[5]", "[1]",
              "m.json: tree 0 node 2: categories_segments / categories_sizes lie outside the 1 "
              "categories");
    CAT_ERROR("[0,0,0,0,0]", "[0]", "[0]", "[1]", "[1]",
              "m.json: tree 0 node 0: categories_nodes lists a numerical split");
    CAT_ERROR("[0,0,1,0,0]", "[2,2]", "[0,0]", "[1,1]", "[1]",
              "m.json: tree 0: categories_nodes lists node 2 twice");
    CAT_ERROR("[0,0,1,0,0]", "[2]", "[0]", "[]", "[1]",
              "m.json: learner.gradient_booster.model.trees[0].categories_sizes has 0 values but "
              "categories_nodes has 1");
    EDIT_ERROR("\"default_left\":[1,0,0,0,0]", "\"default_left\":[2,0,0,0,0]",
               "m.json: tree 0 node 0: default_left must be 0 or 1");
    /* XGBoost writes non-finite floats as bare NaN / Infinity */
    EDIT_ERROR("-5E-1,1.5E0]", "NaN,1.5E0]", "m.json: tree 0 node 3: leaf value is NaN");
    EDIT_ERROR("-5E-1,1.5E0]", "-5E-1,Infinity]", "m.json: tree 0 node 4: leaf value is infinite");
    EDIT_ERROR("[5E-1,2.5E-1,", "[-Infinity,2.5E-1,",
               "m.json: tree 0 node 0: split condition is infinite");
    EDIT_ERROR("[5E-1,2.5E-1,", "[NaN,2.5E-1,", "m.json: tree 0 node 0: split condition is NaN");
    /* ... but not where XGBoost does not read them (statistics) */
    s = edit(good, "\"loss_changes\":[1E0,0E0,1E0,0E0,0E0]",
             "\"loss_changes\":[NaN,0E0,Infinity,-Infinity,0E0]");
    ms_model *m = IMPORT_OK(s, NULL, NULL);
    ms_model_free(m);
    free(s);
    EDIT_ERROR("-5E-1,1.5E0]", "-5E-1,1E39]",
               "m.json: tree 0 node 4: leaf value = 1e+39 is out of float32 range");
    EDIT_ERROR("[5E-1,2.5E-1,", "[\"0.5\",2.5E-1,",
               "m.json: tree 0 node 0: split condition is a string, expected a number");
    EDIT_ERROR("\"num_nodes\":\"5\"", "\"num_nodes\":\"0\"",
               "m.json: learner.gradient_booster.model.trees[0].tree_param.num_nodes = 0: a tree "
               "has at least a root");
    EDIT_ERROR("\"num_nodes\":\"5\",\"size_leaf_vector\":\"0\"",
               "\"num_nodes\":\"5\",\"size_leaf_vector\":\"2\"",
               "m.json: learner.gradient_booster.model.trees[0].tree_param.size_leaf_vector = 2: "
               "vector leaves are not supported");
    /* an unreachable node must be one XGBoost's pruner deleted */
    s = edit(good, "\"left_children\":[-1],", "\"left_children\":[-1,-1],");
    s2 = edit(s, "\"right_children\":[-1],", "\"right_children\":[-1,-1],");
    free(s);
    s = edit(s2, "\"split_conditions\":[1.25E-1],\"split_indices\":[0],",
             "\"split_conditions\":[1.25E-1,0E0],\"split_indices\":[0,0],");
    free(s2);
    s2 = edit(s, "\"default_left\":[0],", "\"default_left\":[0,0],");
    free(s);
    s = edit(s2, "\"split_type\":[0],", "\"split_type\":[0,0],");
    free(s2);
    s2 = edit(s, "\"num_nodes\":\"1\"", "\"num_nodes\":\"2\"");
    free(s);
    ERROR_OPT(s2, NULL, MS_EMODEL, "m.json: tree 1 node 1 is not reachable from the root");
    s = edit(s2, "\"split_indices\":[0,0],", "\"split_indices\":[0,2147483647],");
    m = IMPORT_OK(s, NULL, NULL);
    CHECK(m->trees.n_nodes == 6); /* the deleted node is dropped */
    ms_model_free(m);
    free(s);
    free(s2);
}

/* The float32 XGBoost reads from each number's text, also where the
 * nearest double is exactly halfway between two floats. */
static float threshold0(const char *text)
{
    char to[96];
    snprintf(to, sizeof to, "[%s,2.5E-1,", text);
    char *s = edit(good, "[5E-1,2.5E-1,", to);
    ms_model *m = IMPORT_OK(s, NULL, NULL);
    float t = (float)m->trees.threshold[0];
    CHECK((double)t == m->trees.threshold[0]);
    ms_model_free(m);
    free(s);
    return t;
}

static void test_numbers(void)
{
    /* 1 + 2^-24 is a midpoint: the text itself rounds to even, 1 */
    CHECK(threshold0("1.000000059604644775390625") == 1.0f);
    /* just above it: the double is the midpoint again, the text means 1 + 2^-23 */
    CHECK(threshold0("1.0000000596046448") == 1.0f + 0x1p-23f);
    CHECK(threshold0("1.0000000596046448") == strtof("1.0000000596046448", NULL));
    /* shortest float32 texts XGBoost writes: one is exactly a midpoint
     * (33554450, between 33554448 and 33554452), one a double-rounding trap */
    CHECK(threshold0("3.355445E7") == 33554448.0f);
    float trap;
    uint32_t bits = 0x15ae43fd;
    memcpy(&trap, &bits, sizeof trap);
    CHECK(threshold0("7.038531E-26") == trap);
    CHECK((float)strtod("7.038531E-26", NULL) != trap); /* what a plain (float) strtod gives */
    CHECK(threshold0("3.4028235E38") == FLT_MAX);
    /* two texts, one double, two floats: refused rather than guessed */
    char *s =
        edit(good, "[5E-1,2.5E-1,-1E0,", "[1.000000059604644775390625,2.5E-1,1.0000000596046448,");
    ERROR_OPT(s, NULL, MS_EMODEL,
              "m.json: tree 0 node 0: split condition = 1.0000000596046448: the file holds two "
              "numbers that read as this double but as different float32 values");
    free(s);
    EDIT_ERROR("[5E-1,2.5E-1,", "[3.4028236E38,2.5E-1,",
               "m.json: tree 0 node 0: split condition = 3.4028236e+38 is out of float32 range");
}

/* Pruned trees: deleted nodes in the middle of the arrays are dropped and
 * the rest renumbered in file order. */
static void test_deleted_nodes(void)
{
    char *s = edit(good, "\"left_children\":[1,-1,3,-1,-1]", "\"left_children\":[3,-1,-1,-1,-1]");
    char *s2 = edit(s, "\"right_children\":[2,-1,4,-1,-1]", "\"right_children\":[4,-1,-1,-1,-1]");
    free(s);
    s = edit(s2, "\"split_indices\":[0,0,1,0,0]",
             "\"split_indices\":[2,2147483647,2147483647,0,0]");
    ms_model *m = IMPORT_OK(s, NULL, NULL);
    const ms_trees *t = &m->trees;
    CHECK(t->n_trees == 2 && t->n_nodes == 4 && t->node_offset[1] == 3);
    CHECK(t->feature[0] == 2 && t->left[0] == 1 && t->right[0] == 2);
    CHECK(t->value[1] == -0.5 && t->value[2] == 1.5 && t->feature[1] == -1);
    CHECK(t->max_depth == 1 && t->n_leaves == 3);
    ms_model_free(m);
    free(s);
    free(s2);
}

static void test_files(void)
{
    ms_model *m = NULL;
    ms_error err;
    ms_error_clear(&err);
    CHECK(ms_xgb_import_file("none.json", NULL, &m, NULL, &err) == MS_EIO);
    CHECK_STREQ(err.msg, "none.json: No such file or directory");
    CHECK(mkdir("d.json", 0700) == 0);
    CHECK(ms_xgb_import_file("d.json", NULL, &m, NULL, &err) == MS_EIO);
    CHECK_STREQ(err.msg, "d.json: Is a directory");
    CHECK(rmdir("d.json") == 0);
    FILE *f = fopen("g.json", "w");
    CHECK_FATAL(f != NULL);
    fputs(good, f);
    fclose(f);
    ms_xgb_summary sum;
    CHECK_MSG(ms_xgb_import_file("g.json", NULL, &m, &sum, &err) == MS_OK, "%s", err.msg);
    CHECK(m && m->trees.n_trees == 2 && sum.n_trees == 2);
    ms_model_free(m);
    f = fopen("g.json", "w");
    CHECK_FATAL(f != NULL);
    fputs("{\"learner\":\n  {\"objective\": NaN}}", f);
    fclose(f);
    m = NULL;
    CHECK(ms_xgb_import_file("g.json", NULL, &m, NULL, &err) == MS_EMODEL && m == NULL);
    CHECK_STREQ(err.msg, "g.json: learner.objective is a string, expected an object");
    unlink("g.json");
}

int main(void)
{
    char dir[] = "/tmp/test_xgb_import.XXXXXX";
    CHECK_FATAL(mkdtemp(dir) != NULL);
    CHECK_FATAL(chdir(dir) == 0);

    test_good();
    test_rounds();
    test_multi_and_names();
    test_objectives();
    test_refusals();
    test_deleted_nodes();
    test_numbers();
    test_files();

    CHECK(chdir("/") == 0);
    CHECK(rmdir(dir) == 0);
    return ms_test_done("test_xgb_import");
}
