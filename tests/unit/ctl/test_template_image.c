/* SPDX-License-Identifier: MIT */
/* test_template_image.c: what a create reads of a template (template_vm.h, template.h): the
 * golden tag (stable, and different for every input that changes the snapshot), layer.json and
 * options JSON, hostile ones included (refused with a reason, nothing half-filled), and
 * ctl_template_resolve's status rules on a real store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlfx.h"
#include "daemon/ctl/template.h"
#include "daemon/ctl/template_files.h"
#include "daemon/ctl/template_vm.h"
#include "daemon/store/ids.h"

/* REQUIRE for void tests */
#define NEED(cond)                                                                               \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            harness_fail(__FILE__, __LINE__, "%s", #cond);                                       \
            return;                                                                              \
        }                                                                                        \
    } while (0)

#define K1 "1111111111111111111111111111111111111111111111111111111111111111"
#define K2 "2222222222222222222222222222222222222222222222222222222222222222"

TEST(golden_tag_is_stable_and_covers_every_input)
{
    struct ctl_tpl_ready port = { .kind = CTL_TPL_READY_PORT, .port = 8080, .timeout_s = 60 };
    char a[65], b[65];
    ctl_tpl_golden_tag(K1, "serve", &port, a);
    CHECK_EQ(strlen(a), 64u);
    CHECK(ctl_tpl_key_valid(a));
    ctl_tpl_golden_tag(K1, "serve", &port, b);
    CHECK_STR(a, b);
    ctl_tpl_golden_tag(K2, "serve", &port, b);
    CHECK(strcmp(a, b) != 0);
    ctl_tpl_golden_tag(K1, "serve2", &port, b);
    CHECK(strcmp(a, b) != 0);
    ctl_tpl_golden_tag(K1, NULL, &port, b);
    CHECK(strcmp(a, b) != 0);
    /* an empty command is not the same as none */
    char c[65];
    ctl_tpl_golden_tag(K1, "", &port, c);
    CHECK(strcmp(b, c) != 0);
    struct ctl_tpl_ready p2 = port;
    p2.port = 8081;
    ctl_tpl_golden_tag(K1, "serve", &p2, b);
    CHECK(strcmp(a, b) != 0);
    p2 = port;
    p2.timeout_s = 61;
    ctl_tpl_golden_tag(K1, "serve", &p2, b);
    CHECK(strcmp(a, b) != 0);
    /* fields cannot slide into each other */
    struct ctl_tpl_ready f1 = { .kind = CTL_TPL_READY_FILE, .arg = "/ab", .timeout_s = 60 };
    ctl_tpl_golden_tag(K1, "x", &f1, a);
    f1.arg = "b";
    ctl_tpl_golden_tag(K1, "x/a", &f1, b);
    CHECK(strcmp(a, b) != 0);
    ctl_tpl_golden_tag(K1, NULL, NULL, a);
    struct ctl_tpl_ready none = { .kind = CTL_TPL_READY_NONE };
    ctl_tpl_golden_tag(K1, NULL, &none, b);
    CHECK_STR(a, b);
}

static int layer(const char *json, struct ctl_tpl_image *t, char *err)
{
    memset(t, 0, sizeof(*t));
    return ctl_tpl_layer_parse(json, strlen(json), t, err, 200);
}

TEST(layer_json_good)
{
    struct ctl_tpl_image t;
    char err[200] = "";
    CHECK_EQ(layer("{\"key\":\"" K1 "\",\"parent\":null,\"env\":[\"A=1\",\"B=x=y\",\"C=\"],"
                   "\"workdir\":\"/srv/app\",\"user\":\"app\",\"cmd\":[\"x\"],\"fs_mib\":20480,"
                   "\"unknown\":{\"deep\":[1,2]}}",
                   &t, err),
             0);
    CHECK_STR(t.env[0], "A=1");
    CHECK_STR(t.env[1], "B=x=y");
    CHECK_STR(t.env[2], "C=");
    CHECK(t.env[3] == NULL);
    CHECK_STR(t.workdir, "/srv/app");
    CHECK_STR(t.user, "app");
    CHECK_EQ(t.fs_mib, 20480u);
    ctl_tpl_image_release(&t);
    /* the defaults */
    CHECK_EQ(layer("{}", &t, err), 0);
    CHECK(t.env == NULL);
    CHECK_STR(t.workdir, "");
    CHECK_EQ(t.fs_mib, 10240u);
    ctl_tpl_image_release(&t);
}

TEST(layer_json_hostile)
{
    static const char *const bad[] = {
        "",
        "null",
        "[]",
        "{",
        "{\"env\":\"A=1\"}",
        "{\"env\":[1]}",
        "{\"env\":[\"NOEQUALS\"]}",
        "{\"env\":[\"=value\"]}",
        "{\"env\":[\"A=1\\u0000B=2\"]}",
        "{\"env\":[\"A=1\",null]}",
        "{\"workdir\":\"relative\"}",
        "{\"workdir\":7}",
        "{\"workdir\":\"/a\\u0000b\"}",
        "{\"user\":\"a\\nb\"}",
        "{\"fs_mib\":0}",
        "{\"fs_mib\":-5}",
        "{\"fs_mib\":1e3}",
        "{\"fs_mib\":\"10240\"}",
        "{\"fs_mib\":99999999999999999}",
        "{\"env\":[],\"env\":[]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ctl_tpl_image t;
        char err[200] = "";
        int r = layer(bad[i], &t, err);
        if (r != -EINVAL)
            harness_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
        CHECK(err[0] != '\0');
        CHECK(t.env == NULL);
        ctl_tpl_image_release(&t);
    }
    /* too long, too many */
    size_t big = (256u << 10) + 10;
    char *s = malloc(big + 1);
    NEED(s);
    memset(s, ' ', big);
    s[0] = '{';
    s[big - 1] = '}';
    s[big] = 0;
    struct ctl_tpl_image t;
    char err[200];
    CHECK_EQ(layer(s, &t, err), -EINVAL);
    char *p = s;
    p += sprintf(p, "{\"env\":[");
    for (int i = 0; i < 1100; i++)
        p += sprintf(p, "%s\"K%d=v\"", i ? "," : "", i);
    sprintf(p, "]}");
    CHECK_EQ(layer(s, &t, err), -EINVAL);
    sprintf(s, "{\"workdir\":\"/%01100d\"}", 0);
    CHECK_EQ(layer(s, &t, err), -EINVAL);
    free(s);
}

static int opts(const char *json, struct ctl_tpl_image *t)
{
    memset(t, 0, sizeof(*t));
    char err[200];
    return ctl_tpl_options_parse(json, t, err, sizeof(err));
}

TEST(options_json)
{
    struct ctl_tpl_image t;
    CHECK_EQ(opts("{\"start_cmd\":\"npm start\",\"ready\":{\"port\":3000},\"no_cache\":true}",
                  &t),
             0);
    CHECK_STR(t.start_cmd, "npm start");
    CHECK_EQ(t.ready.kind, CTL_TPL_READY_PORT);
    CHECK_EQ(t.ready.port, 3000);
    CHECK_EQ(t.ready.timeout_s, (uint32_t)CTL_TPL_READY_TIMEOUT_DEFAULT_S);
    ctl_tpl_image_release(&t);
    CHECK_EQ(opts("{\"ready\":{\"file\":\"/tmp/up\",\"timeout_seconds\":5}}", &t), 0);
    CHECK(t.start_cmd == NULL);
    CHECK_EQ(t.ready.kind, CTL_TPL_READY_FILE);
    CHECK_STR(t.ready.arg, "/tmp/up");
    CHECK_EQ(t.ready.timeout_s, 5u);
    ctl_tpl_image_release(&t);
    CHECK_EQ(opts("{\"ready\":{\"command\":\"curl -sf localhost\"}}", &t), 0);
    CHECK_EQ(t.ready.kind, CTL_TPL_READY_COMMAND);
    ctl_tpl_image_release(&t);
    CHECK_EQ(opts("{\"ready\":{\"delay_ms\":250}}", &t), 0);
    CHECK_EQ(t.ready.kind, CTL_TPL_READY_DELAY);
    CHECK_EQ(t.ready.delay_ms, 250u);
    ctl_tpl_image_release(&t);
    CHECK_EQ(opts("{}", &t), 0);
    CHECK_EQ(t.ready.kind, CTL_TPL_READY_NONE);
    ctl_tpl_image_release(&t);
    CHECK_EQ(opts("", &t), 0);
    ctl_tpl_image_release(&t);
    static const char *const bad[] = {
        "[]",
        "{\"start_cmd\":5}",
        "{\"start_cmd\":\"\"}",
        "{\"start_cmd\":\"a\\u0000b\"}",
        "{\"ready\":{}}",
        "{\"ready\":{\"port\":1,\"file\":\"/x\"}}",
        "{\"ready\":{\"port\":0}}",
        "{\"ready\":{\"port\":65536}}",
        "{\"ready\":{\"port\":\"80\"}}",
        "{\"ready\":{\"file\":\"relative\"}}",
        "{\"ready\":{\"command\":\"\"}}",
        "{\"ready\":{\"delay_ms\":0}}",
        "{\"ready\":{\"delay_ms\":600001}}",
        "{\"ready\":{\"port\":80,\"timeout_seconds\":0}}",
        "{\"ready\":{\"port\":80,\"timeout_seconds\":601}}",
        "{\"ready\":[80]}",
        "{\"start_cmd\":\"a\",\"start_cmd\":\"b\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (opts(bad[i], &t) != -EINVAL)
            harness_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
        CHECK(t.start_cmd == NULL && t.ready.arg == NULL);
        ctl_tpl_image_release(&t);
    }
}

/* ---- resolve on a real store ---- */

static bool put_tpl(struct cfx *c, const char *name, enum store_tpl_status st, const char *top,
                    char id[STORE_ID_SIZE])
{
    struct store_template t;
    store_template_init(&t);
    REQUIRE(ids_new_template(t.id) == 0);
    snprintf(t.user_id, sizeof(t.user_id), "alice");
    snprintf(t.name, sizeof(t.name), "%s", name);
    snprintf(t.base, sizeof(t.base), "devbox:1");
    snprintf(t.options, sizeof(t.options), "{\"start_cmd\":\"run\",\"ready\":{\"port\":80}}");
    t.dockerfile = (char *)"FROM devbox:1\n";
    t.status = st;
    t.attempt = 1;
    snprintf(t.top_layer, sizeof(t.top_layer), "%s", top);
    t.created_at = 1000;
    REQUIRE(store_template_insert(c->fx.st, &t) == 0);
    memcpy(id, t.id, STORE_ID_SIZE);
    return true;
}

static bool put_layer(struct cfx *c, const char *key, const char *json)
{
    char dir[PATH_MAX], p[PATH_MAX + 32];
    REQUIRE(ctl_tpl_layer_dir(&c->ctl, key, dir) == 0);
    snprintf(p, sizeof(p), "mkdir -p '%s'", dir);
    REQUIRE(system(p) == 0);
    snprintf(p, sizeof(p), "%s/disk.qcow2", dir);
    FILE *f = fopen(p, "w");
    REQUIRE(f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/layer.json", dir);
    REQUIRE((f = fopen(p, "w")));
    fputs(json, f);
    fclose(f);
    return true;
}

TEST(resolve_status_rules)
{
    struct cfx c;
    if (!cfx_open(&c))
        return;
    snprintf(c.ctl.set.templates_dir, sizeof(c.ctl.set.templates_dir), "%s/templates", c.root);
    char ok[STORE_ID_SIZE], pend[STORE_ID_SIZE], bld[STORE_ID_SIZE], bad[STORE_ID_SIZE],
        hostile[STORE_ID_SIZE], gone[STORE_ID_SIZE];
    NEED(put_layer(&c, K1, "{\"env\":[\"A=1\"],\"workdir\":\"/w\",\"fs_mib\":10240}"));
    NEED(put_layer(&c, K2, "{\"env\":[\"NOPE\"]}"));
    NEED(put_tpl(&c, "ok", STORE_TPL_READY, K1, ok));
    NEED(put_tpl(&c, "pend", STORE_TPL_PENDING, "", pend));
    NEED(put_tpl(&c, "bld", STORE_TPL_BUILDING, "", bld));
    NEED(put_tpl(&c, "bad", STORE_TPL_FAILED, "", bad));
    NEED(put_tpl(&c, "hostile", STORE_TPL_READY, K2, hostile));
    NEED(put_tpl(&c, "gone", STORE_TPL_READY, K1, gone));
    enum store_tpl_status was;
    NEED(store_template_delete(c.fx.st, "alice", gone, 2000, &was) == 0);
    struct ctl_tpl_image t;
    struct ctl_error e;
    const char *refs[] = { "ok", ok };
    for (size_t i = 0; i < 2; i++) {
        CHECK_EQ(ctl_template_resolve(&c.ctl, "alice", refs[i], &t, &e), 0);
        CHECK_STR(t.id, ok);
        CHECK(strstr(t.image, "/layers/" K1 "/disk.qcow2") != NULL);
        CHECK_STR(t.env[0], "A=1");
        CHECK_STR(t.workdir, "/w");
        CHECK_STR(t.start_cmd, "run");
        CHECK_EQ(t.ready.port, 80);
        char tag[65];
        ctl_tpl_golden_tag(K1, "run", &t.ready, tag);
        CHECK_STR(t.golden_tag, tag);
        ctl_tpl_image_release(&t);
    }
    CHECK(ctl_template_resolve(&c.ctl, "alice", "pend", &t, &e) < 0);
    CHECK_EQ(e.code, CTL_E_TEMPLATE_NOT_READY);
    CHECK(ctl_template_resolve(&c.ctl, "alice", bld, &t, &e) < 0);
    CHECK_EQ(e.code, CTL_E_TEMPLATE_NOT_READY);
    CHECK(ctl_template_resolve(&c.ctl, "alice", "bad", &t, &e) < 0);
    CHECK_EQ(e.code, CTL_E_INVALID);
    CHECK_STR(e.field, "rootfs");
    CHECK(strstr(e.msg, "template bad failed") != NULL);
    CHECK(ctl_template_resolve(&c.ctl, "alice", gone, &t, &e) < 0);
    CHECK_EQ(e.code, CTL_E_NOT_FOUND);
    CHECK(ctl_template_resolve(&c.ctl, "alice", "gone", &t, &e) < 0);
    CHECK_EQ(e.code, CTL_E_UNKNOWN_REF);
    CHECK(ctl_template_resolve(&c.ctl, "bob", "ok", &t, &e) < 0); /* another user's */
    CHECK_EQ(e.code, CTL_E_UNKNOWN_REF);
    CHECK(ctl_template_resolve(&c.ctl, "alice", "hostile", &t, &e) < 0);
    CHECK_EQ(e.code, CTL_E_INTERNAL);
    CHECK(t.env == NULL && t.start_cmd == NULL);
    cfx_close(&c);
}
