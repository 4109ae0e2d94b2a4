/* SPDX-License-Identifier: MIT */
/* fuzz_validate.c: libFuzzer driver for request validation (src/daemon/api/validate.c): the
 * input is a request body, loaded as api_read_json() (api/reply.c) loads it, then given to every
 * validator a handler calls: create (as a user and as an admin), fork, PATCH, resize, exec
 * (with env keys A, B_2 and PATH declared) and PUT …/egress, against a catalog whose images
 * exist (a temp images dir made once). Each answers 0 with a typed request or a 400/403 with a
 * fail object holding a "code"; what was accepted is released, so ASan sees any leak.
 * Run: make fuzz FUZZ_TARGETS=validate (docs/testing.md "Fuzzing"). */
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/api/auth.h"
#include "daemon/api/validate.h"
#include "daemon/ctl/catalog.h"
#include "daemon/ctl/ctl.h"
#include "daemon/store/store.h"
#include "fuzz_tmp.h"

static struct ctl ctx;
/* A ctl with the settings validation reads and every catalog image present. */
static void setup(void)
{
    const char *dir = fuzz_tmp_dir("validate");
    memset(&ctx, 0, sizeof(ctx));
    snprintf(ctx.set.region, sizeof(ctx.set.region), "local");
    snprintf(ctx.set.host_id, sizeof(ctx.set.host_id), "host-1");
    snprintf(ctx.set.images_dir, sizeof(ctx.set.images_dir), "%s", dir);
    ctx.set.max_disk_mib = 262144;
    ctx.set.bandwidth_quota_bytes = 5368709120;
    size_t n;
    const struct ctl_rootfs *all = ctl_rootfs_all(&n);
    for (size_t i = 0; i <= n; i++) {
        char p[1200];
        snprintf(p, sizeof(p), "%s/%s", dir, i < n ? all[i].file : "vmlinux");
        int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
    }
}

/* A non-zero answer must be a status with a fail object that names its code. */
static void check_fail(int st, json_t *fail)
{
    if (st != 400 && st != 403)
        abort();
    if (!json_is_object(fail) || !json_is_string(json_object_get(fail, "code")))
        abort();
    /* a 400 names the field (and says what is wrong with it) besides the code */
    const char *k;
    json_t *v;
    bool named = false;
    json_object_foreach(fail, k, v)
        named |= strcmp(k, "code") != 0 && json_is_string(v);
    if (st == 400 && !named)
        abort();
    json_decref(fail);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx.set.images_dir[0])
        setup();
    json_t *body = size ? json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL)
                        : json_object();
    if (!body)
        return 0;
    json_t *fail = NULL;
    for (int admin = 0; admin < 2; admin++) {
        struct api_auth auth = { .key_id = "key-1", .user_id = "user-1", .admin = admin };
        struct ctl_create_req cr;
        int st = api_validate_create(&ctx, &auth, body, &cr, &fail);
        if (st == 0) {
            if (!cr.shape || (!cr.rootfs && !cr.template_ref) || cr.n_envs > CTL_MAX_ENVS ||
                cr.n_egress > CTL_MAX_EGRESS || cr.n_networks > CTL_MAX_NETWORKS)
                abort();
            ctl_create_req_release(&cr);
        } else {
            check_fail(st, fail);
        }
    }
    struct ctl_fork_req fr;
    int st = api_validate_fork(&ctx, body, &fr, &fail);
    if (st == 0)
        ctl_fork_req_release(&fr);
    else
        check_fail(st, fail);
    struct ctl_patch_req pr;
    if ((st = api_validate_patch(body, &pr, &fail)) != 0)
        check_fail(st, fail);
    int64_t mib = 0;
    if ((st = api_validate_resize(body, 10240, ctx.set.max_disk_mib, &mib, &fail)) != 0)
        check_fail(st, fail);
    else if (mib <= 10240 || mib > ctx.set.max_disk_mib)
        abort();
    char **rules = NULL;
    size_t n_rules = 0;
    if ((st = api_validate_egress(body, &rules, &n_rules, &fail)) != 0) {
        check_fail(st, fail);
    } else {
        for (size_t i = 0; i < n_rules; i++)
            free(rules[i]);
        free(rules);
    }
    static const char *const declared[] = { "A", "B_2", "PATH" };
    struct api_exec_req er;
    if ((st = api_validate_exec(body, declared, 3, &er, &fail)) != 0) {
        check_fail(st, fail);
    } else {
        if (!er.argv || !er.argv[0] || !er.argv[0][0] || er.n_env > 3 ||
            (er.cwd && er.cwd[0] != '/'))
            abort();
        api_exec_req_release(&er);
    }
    json_decref(body);
    return 0;
}
