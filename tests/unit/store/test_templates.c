/* SPDX-License-Identifier: MIT */
/* test_templates.c: templates and their build logs in the store (migration 0008): names unique
 * among a user's live templates, reads by id (deleted too) or name, with or without the texts,
 * paging, the queue and collector lists, guarded updates (-ESTALE), deletes that cancel a build
 * in flight and free the name, the sandboxes that still lean on a template, log order and
 * cursors, and hostile sizes. */
#include "fixture.h"

#define T1 "tpl_01ARZ3NDEKTSV4RRFFQ69G5FA1"
#define T2 "tpl_01ARZ3NDEKTSV4RRFFQ69G5FA2"
#define T3 "tpl_01ARZ3NDEKTSV4RRFFQ69G5FA3"
#define T4 "tpl_01ARZ3NDEKTSV4RRFFQ69G5FA4"

static void fill_tpl(struct store_template *t, const char *user, const char *id, const char *name,
                     int64_t at)
{
    store_template_init(t);
    snprintf(t->id, sizeof(t->id), "%s", id);
    snprintf(t->user_id, sizeof(t->user_id), "%s", user);
    snprintf(t->name, sizeof(t->name), "%s", name);
    snprintf(t->base, sizeof(t->base), "devbox:1");
    snprintf(t->options, sizeof(t->options), "{}");
    t->dockerfile = (char *)"FROM devbox:1\nRUN true\n";
    t->status = STORE_TPL_PENDING;
    t->created_at = at;
}

static bool add_tpl(struct fx *f, const char *user, const char *id, const char *name, int64_t at,
                    int want)
{
    struct store_template t;
    fill_tpl(&t, user, id, name, at);
    int r = store_template_insert(f->st, &t);
    if (r != want)
        harness_fail(__FILE__, __LINE__, "insert %s: %d, want %d", name, r, want);
    return r == want;
}

TEST(templates_status_names)
{
    CHECK_STR(store_tpl_status_name(STORE_TPL_PENDING), "pending");
    CHECK_STR(store_tpl_status_name(STORE_TPL_CANCELLED), "cancelled");
    CHECK(store_tpl_status_name((enum store_tpl_status)99) == NULL);
    CHECK_EQ(store_tpl_status_parse("ready"), STORE_TPL_READY);
    CHECK_EQ(store_tpl_status_parse("building"), STORE_TPL_BUILDING);
    CHECK_EQ(store_tpl_status_parse("Ready"), -EINVAL);
    CHECK_EQ(store_tpl_status_parse(NULL), -EINVAL);
    char id[IDS_TEMPLATE_LEN + 1];
    CHECK_EQ(ids_new_template(id), 0);
    CHECK(strncmp(id, "tpl_", 4) == 0 && strlen(id) == IDS_TEMPLATE_LEN);
}

TEST(templates_insert_get_list)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    CHECK(add_tpl(&f, "alice", T1, "web", 1000, 0));
    CHECK(add_tpl(&f, "alice", T2, "web", 1100, -EEXIST));
    CHECK(add_tpl(&f, "alice", T2, "db", 1100, 0));
    CHECK(add_tpl(&f, "nobody", T3, "x", 1200, -ENOENT)); /* unknown user */
    CHECK(add_tpl(&f, "alice", T3, "", 1200, -EINVAL));
    CHECK(add_tpl(&f, "alice", T1, "other", 1200, -EIO)); /* an id collision is a bug */

    struct store_template t;
    fill_tpl(&t, "alice", T3, "big", 1200);
    char *huge = malloc(STORE_TPL_DOCKERFILE_MAX + 2);
    CHECK(huge);
    memset(huge, 'A', STORE_TPL_DOCKERFILE_MAX + 1);
    huge[STORE_TPL_DOCKERFILE_MAX + 1] = '\0';
    t.dockerfile = huge;
    CHECK_EQ(store_template_insert(f.st, &t), -EMSGSIZE);
    huge[STORE_TPL_DOCKERFILE_MAX] = '\0'; /* exactly the limit is fine */
    CHECK_EQ(store_template_insert(f.st, &t), 0);
    free(huge);
    fill_tpl(&t, "alice", T4, "x", 1200);
    memset(t.name, 'n', sizeof(t.name)); /* no terminator */
    CHECK_EQ(store_template_insert(f.st, &t), -ENAMETOOLONG);
    fill_tpl(&t, "alice", T4, "x", 1200);
    memset(t.base, 'b', sizeof(t.base));
    CHECK_EQ(store_template_insert(f.st, &t), -ENAMETOOLONG);
    fill_tpl(&t, "alice", T4, "x", 1200);
    t.dockerfile = NULL;
    CHECK_EQ(store_template_insert(f.st, &t), -EINVAL);
    fill_tpl(&t, "alice", T4, "x", 1200);
    t.status = (enum store_tpl_status)42;
    CHECK_EQ(store_template_insert(f.st, &t), -EINVAL);
    /* extensions round trip */
    fill_tpl(&t, "alice", T4, "ext", 1300);
    snprintf(t.context, sizeof(t.context), "ctx_%064d", 7);
    snprintf(t.options, sizeof(t.options), "{\"no_cache\":true}");
    CHECK_EQ(store_template_insert(f.st, &t), 0);

    struct store_template g;
    CHECK_EQ(store_template_get(f.st, "alice", "web", false, &g), 0);
    CHECK_STR(g.id, T1);
    CHECK_STR(g.base, "devbox:1");
    CHECK(g.dockerfile == NULL && g.layers == NULL);
    CHECK(g.status == STORE_TPL_PENDING && g.attempt == 0 && g.created_at == 1000);
    CHECK_STR(g.context, "");
    CHECK_STR(g.error, "");
    store_template_release(&g);
    CHECK_EQ(store_template_get(f.st, "alice", T1, true, &g), 0);
    CHECK_STR(g.dockerfile, "FROM devbox:1\nRUN true\n");
    CHECK_STR(g.layers, "[]");
    store_template_release(&g);
    CHECK_EQ(store_template_get(f.st, "alice", "ext", true, &g), 0);
    CHECK(strncmp(g.context, "ctx_000", 7) == 0);
    CHECK_STR(g.options, "{\"no_cache\":true}");
    store_template_release(&g);
    CHECK_EQ(store_template_get(f.st, "bob", T1, false, &g), -ENOENT);
    CHECK_EQ(store_template_get(f.st, NULL, T1, false, &g), 0); /* the builder: any user */
    store_template_release(&g);
    CHECK_EQ(store_template_get(f.st, "alice", "nope", false, &g), -ENOENT);
    char longref[300];
    memset(longref, 'x', sizeof(longref) - 1);
    longref[sizeof(longref) - 1] = '\0';
    CHECK_EQ(store_template_get(f.st, "alice", longref, false, &g), -ENOENT);
    CHECK_EQ(store_template_get(f.st, "alice", "", false, &g), -EINVAL);

    struct store_template *v;
    size_t n;
    uint64_t total;
    CHECK_EQ(store_template_list(f.st, "alice", 2, 0, &v, &n, &total), 0);
    CHECK_EQ(total, 4);
    CHECK_EQ(n, 2);
    CHECK_STR(v[0].name, "ext"); /* newest first */
    CHECK(v[0].dockerfile == NULL);
    CHECK_STR(v[1].id, T3);
    for (size_t i = 0; i < n; i++)
        store_template_release(&v[i]);
    free(v);
    CHECK_EQ(store_template_list(f.st, "alice", 10, 3, &v, &n, &total), 0);
    CHECK_EQ(n, 1);
    CHECK_STR(v[0].id, T1);
    store_template_release(&v[0]);
    free(v);
    CHECK_EQ(store_template_list(f.st, "alice", 0, 0, &v, &n, &total), 0);
    CHECK(n == 0 && total == 4);
    free(v);
    CHECK_EQ(store_template_list(f.st, "bob", 10, 0, &v, &n, &total), 0);
    CHECK(n == 0 && total == 0);
    free(v);
    fx_close(&f);
}

static void free_rows(struct store_template *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_template_release(&v[i]);
    free(v);
}

TEST(templates_update_queue_delete)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    CHECK(add_tpl(&f, "alice", T1, "a", 1000, 0));
    CHECK(add_tpl(&f, "alice", T2, "b", 1100, 0));
    CHECK(add_tpl(&f, "alice", T3, "c", 1200, 0));

    /* the builder claims T1: pending → building, guarded */
    struct store_tpl_update u = { .mask = STORE_TPL_SET_STATUS | STORE_TPL_SET_ATTEMPT |
                                          STORE_TPL_SET_HOST,
                                  .from_states = 1u << STORE_TPL_PENDING,
                                  .status = STORE_TPL_BUILDING, .attempt = 1,
                                  .started_at = 2000, .host_id = "h1" };
    CHECK_EQ(store_template_update(f.st, T1, &u), 0);
    CHECK_EQ(store_template_update(f.st, T1, &u), -ESTALE); /* not pending any more */
    CHECK_EQ(store_template_update(f.st, "tpl_unknown", &u), -ENOENT);
    struct store_tpl_update bad = { .mask = STORE_TPL_SET_STATUS, .status = 77 };
    CHECK_EQ(store_template_update(f.st, T1, &bad), -EINVAL);
    bad = (struct store_tpl_update){ 0 };
    CHECK_EQ(store_template_update(f.st, T1, &bad), -EINVAL); /* nothing to do */
    char longerr[STORE_TPL_ERROR_SIZE + 10];
    memset(longerr, 'e', sizeof(longerr) - 1);
    longerr[sizeof(longerr) - 1] = '\0';
    bad = (struct store_tpl_update){ .mask = STORE_TPL_SET_ERROR, .error = longerr };
    CHECK_EQ(store_template_update(f.st, T1, &bad), -ENAMETOOLONG);

    struct store_template *v;
    size_t n;
    CHECK_EQ(store_template_list_status(f.st, STORE_TPL_PENDING, &v, &n), 0);
    CHECK_EQ(n, 2);
    CHECK_STR(v[0].id, T2); /* oldest first */
    CHECK(v[0].dockerfile != NULL && v[0].layers != NULL);
    free_rows(v, n);
    CHECK_EQ(store_template_list_status(f.st, STORE_TPL_BUILDING, &v, &n), 0);
    CHECK_EQ(n, 1);
    CHECK_STR(v[0].host_id, "h1");
    CHECK(v[0].attempt == 1 && v[0].started_at == 2000);
    free_rows(v, n);

    /* T1 becomes ready with its result and layers */
    u = (struct store_tpl_update){ .mask = STORE_TPL_SET_STATUS | STORE_TPL_SET_RESULT |
                                           STORE_TPL_SET_LAYERS | STORE_TPL_SET_ERROR,
                                   .from_states = 1u << STORE_TPL_BUILDING,
                                   .status = STORE_TPL_READY, .top_layer = "abcd",
                                   .ext4_size_bytes = 12345, .built_at = 3000,
                                   .layers = "[\"abcd\"]", .error = "" };
    CHECK_EQ(store_template_update(f.st, T1, &u), 0);
    struct store_template g;
    CHECK_EQ(store_template_get(f.st, "alice", T1, true, &g), 0);
    CHECK(g.status == STORE_TPL_READY && g.ext4_size_bytes == 12345 && g.built_at == 3000);
    CHECK_STR(g.top_layer, "abcd");
    CHECK_STR(g.layers, "[\"abcd\"]");
    CHECK_STR(g.host_id, "h1");
    store_template_release(&g);
    /* T3 fails */
    u = (struct store_tpl_update){ .mask = STORE_TPL_SET_STATUS | STORE_TPL_SET_ERROR,
                                   .status = STORE_TPL_FAILED, .error = "line 2: boom" };
    CHECK_EQ(store_template_update(f.st, T3, &u), 0);
    CHECK_EQ(store_template_get(f.st, "alice", "c", false, &g), 0);
    CHECK_STR(g.error, "line 2: boom");
    store_template_release(&g);

    /* deletes: pending → cancelled; ready keeps its status; both free the name */
    enum store_tpl_status was = STORE_TPL_FAILED;
    CHECK_EQ(store_template_delete(f.st, "bob", T2, 4000, &was), -ENOENT);
    CHECK_EQ(store_template_delete(f.st, "alice", T2, 4000, &was), 0);
    CHECK(was == STORE_TPL_PENDING);
    CHECK_EQ(store_template_delete(f.st, "alice", T2, 4100, &was), -EALREADY);
    CHECK_EQ(store_template_get(f.st, "alice", T2, false, &g), 0);
    CHECK(g.status == STORE_TPL_CANCELLED && g.deleted_at == 4000);
    store_template_release(&g);
    CHECK_EQ(store_template_get(f.st, "alice", "b", false, &g), -ENOENT);
    CHECK(add_tpl(&f, "alice", T4, "b", 5000, 0)); /* the name is free again */
    /* a cancelled build's late update is refused by its guard */
    u = (struct store_tpl_update){ .mask = STORE_TPL_SET_STATUS,
                                   .from_states = 1u << STORE_TPL_BUILDING,
                                   .status = STORE_TPL_READY };
    CHECK_EQ(store_template_update(f.st, T2, &u), -ESTALE);
    CHECK_EQ(store_template_delete(f.st, "alice", T1, 6000, &was), 0);
    CHECK(was == STORE_TPL_READY);
    CHECK_EQ(store_template_get(f.st, "alice", T1, false, &g), 0);
    CHECK(g.status == STORE_TPL_READY && g.deleted_at == 6000);
    store_template_release(&g);
    CHECK_EQ(store_template_delete(f.st, "alice", "tpl_none", 6000, NULL), -ENOENT);
    /* building → cancelled */
    CHECK_EQ(store_template_update(f.st, T4,
                                   &(struct store_tpl_update){ .mask = STORE_TPL_SET_STATUS,
                                                               .status = STORE_TPL_BUILDING }),
             0);
    CHECK_EQ(store_template_delete(f.st, "alice", T4, 7000, &was), 0);
    CHECK(was == STORE_TPL_BUILDING);
    CHECK_EQ(store_template_get(f.st, NULL, T4, false, &g), 0);
    CHECK(g.status == STORE_TPL_CANCELLED);
    store_template_release(&g);

    uint64_t total;
    CHECK_EQ(store_template_list(f.st, "alice", 10, 0, &v, &n, &total), 0);
    CHECK(total == 1 && n == 1);
    CHECK_STR(v[0].id, T3);
    free_rows(v, n);
    CHECK_EQ(store_template_list_all(f.st, &v, &n), 0); /* the collector sees deleted rows */
    CHECK_EQ(n, 4);
    CHECK_STR(v[0].id, T1);
    CHECK_STR(v[0].layers, "[\"abcd\"]");
    CHECK(v[0].dockerfile == NULL);
    free_rows(v, n);
    fx_close(&f);
}

TEST(templates_sandboxes_count)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    CHECK(add_tpl(&f, "alice", T1, "a", 1000, 0));
    uint64_t n = 99;
    CHECK_EQ(store_template_sandboxes(f.st, T1, &n), 0);
    CHECK_EQ(n, 0);
    const char *names[] = { "s1", "s2", "s3" };
    char ids[3][STORE_ID_SIZE];
    for (int i = 0; i < 3; i++) {
        struct store_sandbox sb;
        fx_sandbox(&sb, "alice", f.key_id, names[i], 2000 + i);
        snprintf(sb.rootfs, sizeof(sb.rootfs), "%s", i < 2 ? T1 : "devbox:1");
        CHECK(store_sandbox_insert(f.st, &sb, NULL, 0) == 0);
        memcpy(ids[i], sb.id, STORE_ID_SIZE);
    }
    CHECK_EQ(store_template_sandboxes(f.st, T1, &n), 0);
    CHECK_EQ(n, 2);
    struct store_transition t = { .from = STORE_RUNNING, .to = STORE_DESTROYING,
                                  .intent = STORE_STATE_NONE, .now_ms = 5000 };
    CHECK_EQ(store_sandbox_transition(f.st, ids[0], &t, NULL), 0);
    CHECK_EQ(store_template_sandboxes(f.st, T1, &n), 0);
    CHECK_EQ(n, 2); /* destroying still holds its disk */
    t = (struct store_transition){ .from = STORE_DESTROYING, .to = STORE_DESTROYED,
                                   .intent = STORE_STATE_NONE, .now_ms = 6000 };
    CHECK_EQ(store_sandbox_transition(f.st, ids[0], &t, NULL), 0);
    t = (struct store_transition){ .from = STORE_RUNNING, .to = STORE_FAILED,
                                   .intent = STORE_STATE_NONE, .now_ms = 6000 };
    CHECK_EQ(store_sandbox_transition(f.st, ids[1], &t, NULL), 0);
    CHECK_EQ(store_template_sandboxes(f.st, T1, &n), 0);
    CHECK_EQ(n, 0);
    char longid[100];
    memset(longid, 't', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    CHECK_EQ(store_template_sandboxes(f.st, longid, &n), 0);
    CHECK_EQ(n, 0);
    fx_close(&f);
}

static struct store_tpl_log log_line(int32_t attempt, int64_t seq, const char *line)
{
    return (struct store_tpl_log){ .attempt = attempt, .seq = seq, .ts = 1000 + seq,
                                   .line = (char *)line };
}

TEST(templates_logs)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    CHECK(add_tpl(&f, "alice", T1, "a", 1000, 0));
    struct store_tpl_log a1[] = { log_line(1, 0, "Step 1/2 : FROM devbox:1"),
                                  log_line(1, 1, "Step 2/2 : RUN false"), log_line(1, 2, "failed") };
    a1[2].error = true;
    CHECK_EQ(store_template_log_append(f.st, T1, a1, 3), 0);
    CHECK_EQ(store_template_log_append(f.st, T1, a1 + 1, 1), -EEXIST);
    struct store_tpl_log a2[] = { log_line(2, 0, "Step 1/2 : FROM devbox:1"), log_line(2, 1, "") };
    CHECK_EQ(store_template_log_append(f.st, T1, a2, 2), 0);
    CHECK_EQ(store_template_log_append(f.st, "tpl_unknown", a2, 1), -ENOENT);
    CHECK_EQ(store_template_log_append(f.st, T1, a2, 0), 0);
    /* hostile lines */
    struct store_tpl_log bad = log_line(2, 5, "two\nlines");
    CHECK_EQ(store_template_log_append(f.st, T1, &bad, 1), -EINVAL);
    bad = log_line(0, 5, "attempt 0");
    CHECK_EQ(store_template_log_append(f.st, T1, &bad, 1), -EINVAL);
    char *big = malloc(STORE_TPL_LINE_MAX + 2);
    CHECK(big);
    memset(big, 'x', STORE_TPL_LINE_MAX + 1);
    big[STORE_TPL_LINE_MAX + 1] = '\0';
    bad = log_line(2, 5, big);
    CHECK_EQ(store_template_log_append(f.st, T1, &bad, 1), -EMSGSIZE);
    free(big);
    /* a batch with one bad row stores none */
    struct store_tpl_log mix[] = { log_line(3, 0, "ok"), log_line(1, 0, "dup") };
    CHECK_EQ(store_template_log_append(f.st, T1, mix, 2), -EEXIST);

    struct store_tpl_log *l;
    size_t n;
    CHECK_EQ(store_template_log_read(f.st, T1, 0, 0, -1, 0, &l, &n), 0);
    CHECK_EQ(n, 5);
    CHECK(l[0].attempt == 1 && l[0].seq == 0 && !l[0].error);
    CHECK_STR(l[0].line, "Step 1/2 : FROM devbox:1");
    CHECK(l[2].error && l[2].ts == 1002);
    CHECK(l[3].attempt == 2 && l[3].seq == 0);
    CHECK_STR(l[4].line, "");
    store_tpl_log_free(l, n);
    CHECK_EQ(store_template_log_read(f.st, T1, 2, 0, -1, 0, &l, &n), 0);
    CHECK_EQ(n, 2);
    CHECK(l[0].attempt == 2);
    store_tpl_log_free(l, n);
    /* the cursor: after (1, 1) comes (1, 2) then attempt 2 */
    CHECK_EQ(store_template_log_read(f.st, T1, 0, 1, 1, 2, &l, &n), 0);
    CHECK_EQ(n, 2);
    CHECK(l[0].attempt == 1 && l[0].seq == 2);
    CHECK(l[1].attempt == 2 && l[1].seq == 0);
    store_tpl_log_free(l, n);
    CHECK_EQ(store_template_log_read(f.st, T1, 0, 2, 1, 0, &l, &n), 0);
    CHECK_EQ(n, 0);
    store_tpl_log_free(l, n);
    CHECK_EQ(store_template_log_read(f.st, T1, 7, 0, -1, 0, &l, &n), 0);
    CHECK_EQ(n, 0);
    store_tpl_log_free(l, n);
    CHECK_EQ(store_template_log_read(f.st, "tpl_unknown", 0, 0, -1, 0, &l, &n), 0);
    CHECK_EQ(n, 0);
    store_tpl_log_free(l, n);
    CHECK_EQ(store_template_log_read(f.st, T1, -1, 0, -1, 0, &l, &n), -EINVAL);
    fx_close(&f);
}

/* Text that is not UTF-8 (PostgreSQL holds none) is refused on writes and found nowhere on
 * reads, on both backends; UTF-8 at the size limits round-trips. */
TEST(templates_text_not_utf8)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store_template t, g;
    fill_tpl(&t, "alice", T1, "a", 1000);
    char *df = malloc(STORE_TPL_DOCKERFILE_MAX + 1);
    CHECK(df);
    /* "é" repeated to the limit exactly (an even number of bytes) */
    for (size_t i = 0; i < STORE_TPL_DOCKERFILE_MAX; i += 2)
        memcpy(df + i, "\xc3\xa9", 2);
    df[STORE_TPL_DOCKERFILE_MAX] = '\0';
    t.dockerfile = df;
    CHECK_EQ(store_template_insert(f.st, &t), 0);
    CHECK_EQ(store_template_get(f.st, "alice", T1, true, &g), 0);
    CHECK(g.dockerfile && strcmp(g.dockerfile, df) == 0);
    store_template_release(&g);
    df[100] = (char)0xff;
    fill_tpl(&t, "alice", T2, "b", 1000);
    t.dockerfile = df;
    CHECK_EQ(store_template_insert(f.st, &t), -EINVAL);
    free(df);
    fill_tpl(&t, "alice", T2, "b", 1000);
    snprintf(t.options, sizeof(t.options), "{\"start_cmd\":\"\xc3\"}");
    CHECK_EQ(store_template_insert(f.st, &t), -EINVAL);
    CHECK_EQ(store_template_get(f.st, "alice", "a\xff", false, &g), -ENOENT);
    CHECK_EQ(store_template_get(f.st, NULL, "tpl_\xff", false, &g), -ENOENT);
    CHECK_EQ(store_template_delete(f.st, "alice", "tpl_\xff", 1, NULL), -ENOENT);
    uint64_t n = 9;
    CHECK_EQ(store_template_sandboxes(f.st, "tpl_\xff", &n), 0);
    CHECK_EQ(n, 0);
    struct store_tpl_update u = { .mask = STORE_TPL_SET_ERROR, .error = "step 1: \xe2\x82" };
    CHECK_EQ(store_template_update(f.st, T1, &u), -EINVAL);
    u = (struct store_tpl_update){ .mask = STORE_TPL_SET_LAYERS, .layers = "[\"\xff\"]" };
    CHECK_EQ(store_template_update(f.st, T1, &u), -EINVAL);
    u = (struct store_tpl_update){ .mask = STORE_TPL_SET_ERROR, .error = "step 1: \xe2\x82\xac" };
    CHECK_EQ(store_template_update(f.st, T1, &u), 0);
    CHECK_EQ(store_template_get(f.st, "alice", T1, false, &g), 0);
    CHECK_STR(g.error, "step 1: \xe2\x82\xac");
    store_template_release(&g);

    char *line = malloc(STORE_TPL_LINE_MAX + 1);
    CHECK(line);
    for (size_t i = 0; i < STORE_TPL_LINE_MAX; i += 4)
        memcpy(line + i, "\xf0\x9f\x98\x80", 4);
    line[STORE_TPL_LINE_MAX] = '\0';
    struct store_tpl_log l[2] = { log_line(1, 0, line), log_line(1, 1, "bad \xc0\xaf") };
    CHECK_EQ(store_template_log_append(f.st, T1, l, 2), -EINVAL); /* none stored */
    CHECK_EQ(store_template_log_append(f.st, T1, l, 1), 0);
    struct store_tpl_log *r;
    size_t nr;
    CHECK_EQ(store_template_log_read(f.st, T1, 0, 0, -1, 0, &r, &nr), 0);
    CHECK_EQ(nr, 1);
    if (nr == 1)
        CHECK(strcmp(r[0].line, line) == 0);
    store_tpl_log_free(r, nr);
    CHECK_EQ(store_template_log_read(f.st, "tpl_\xff", 0, 0, -1, 0, &r, &nr), 0);
    CHECK_EQ(nr, 0);
    store_tpl_log_free(r, nr);
    free(line);
    struct store_template *v = (void *)1;
    size_t vn = 9;
    uint64_t total = 9;
    CHECK_EQ(store_template_list(f.st, "\xff", 10, 0, &v, &vn, &total), 0);
    CHECK(v == NULL && vn == 0 && total == 0);
    fx_close(&f);
}

/* every child tries to claim the one queued build */
static int race_claim(struct store *st, int i, void *arg)
{
    char host[16];
    snprintf(host, sizeof(host), "h%d", i);
    struct store_tpl_update u = { .mask = STORE_TPL_SET_STATUS | STORE_TPL_SET_ATTEMPT |
                                          STORE_TPL_SET_HOST,
                                  .from_states = 1u << STORE_TPL_PENDING,
                                  .status = STORE_TPL_BUILDING, .attempt = 1,
                                  .started_at = 2000 + i, .host_id = host };
    return store_template_update(st, T1, &u);
}

/* several processes on one database: a guarded update is a compare-and-set, so one host wins
 * a queued build and the others see -ESTALE */
TEST(templates_racing_claims)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    CHECK(add_tpl(&f, "alice", T1, "a", 1000, 0));
    int ret[12];
    CHECK_EQ(fx_race(&f, 12, race_claim, NULL, ret), 1);
    int winner = -1;
    for (int i = 0; i < 12; i++) {
        CHECK(ret[i] == 0 || ret[i] == -ESTALE);
        if (ret[i] == 0)
            winner = i;
    }
    struct store_template g;
    CHECK_EQ(store_template_get(f.st, NULL, T1, false, &g), 0);
    char host[16];
    snprintf(host, sizeof(host), "h%d", winner);
    CHECK_STR(g.host_id, host);
    CHECK(g.status == STORE_TPL_BUILDING && g.started_at == 2000 + winner);
    store_template_release(&g);
    fx_close(&f);
}
