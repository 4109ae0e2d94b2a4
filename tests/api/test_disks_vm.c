/* SPDX-License-Identifier: MIT */
/* test_disks_vm.c: S3 disk mounts end to end (docs/api.md §3.9.6–§3.9.9, docs/disks.md
 * "Mounts", "What forks do") with real microVMs, s3fs in devbox:1 and a real s3rver.
 *
 * The test process runs in a network namespace of its own (tests/run.sh); behind it an
 * "internet" namespace (tests/inetns.h) holds s3rver on 203.0.113.50:80, so guests reach it like
 * a bucket on the network and hearthd's bucket probe reaches it from the test's namespace. The
 * host side reads and writes objects with curl --aws-sigv4 (s3rver checks the key id only).
 *
 * One devbox VM carries most checks: disks at create, attach live (mounted, idempotent, path
 * taken), a guest file read back as an object, an object from the host read in the guest,
 * sub_path, one disk at two paths, hostile attach bodies, DELETE of an attached disk (409),
 * detach with a file held open (lazy: the reader still gets its bytes), pause/resume (kept and
 * re-checked), a credential rotation then pause/resume (mounted again), forks (nothing
 * inherited; disks in the body mounted; two sandboxes sharing the bucket), guest root killing
 * s3fs, s3rver killed and back, a bucket removed and made again, a kill -9 of hearthd, and a
 * scan of the data dir and the disk layers for the secret. A minimal-image sandbox gets an
 * error mount. */
#include "apitest.h"
#include "inetns.h"
#include "vmfx.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TREQ(cond)                                                                               \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            harness_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                              \
            goto out;                                                                            \
        }                                                                                        \
    } while (0)

#define S3_ADDR "203.0.113.50"
#define ENDPOINT "http://" S3_ADDR
/* what the scan looks for: s3rver accepts any secret with its key id */
#define SECRET "hearth-test-secret-Qx7vT2mK9pL4"
#define SECRET2 "hearth-test-rotated-Zr8wN3bH5cJ6"
#define CURL "curl -sS -m 10 --aws-sigv4 aws:amz:us-east-1:s3 -u S3RVER:x " \
             "-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "
#define CONF "disk_mount_check_seconds = 4\nlog_level = debug\n"
#define DEVBOX "\"shape\":\"s-1vcpu-512mb\",\"rootfs\":\"devbox:1\""

struct s3 {
    char ns[64];
    char dir[128];
    pid_t pid;
};

static bool s3_start(struct s3 *s)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "exec %s/tests/s3/s3rver.sh run -d %s -a " S3_ADDR " -p 80 --configure-bucket bkt "
             "--configure-bucket gone >>%s/s3rver.log 2>&1",
             getenv("PWD"), s->dir, s->dir);
    s->pid = inetns_spawn(s->ns, cmd);
    for (int i = 0; i < 300; i++) {
        if (inetns_sh(CURL "-f -o /dev/null " ENDPOINT "/bkt 2>/dev/null") == 0)
            return true;
        usleep(100 * 1000);
    }
    harness_fail(__FILE__, __LINE__, "s3rver did not come up");
    return false;
}

static void s3_stop(struct s3 *s)
{
    if (s->pid > 0)
        inetns_kill(s->pid);
    s->pid = -1;
}

static bool s3_up(struct s3 *s)
{
    memset(s, 0, sizeof(*s));
    s->pid = -1;
    static const char *const addrs[] = { S3_ADDR };
    REQUIRE(inetns_up(s->ns, "ts3", addrs, 1));
    snprintf(s->dir, sizeof(s->dir), "/tmp/hearth-s3-XXXXXX");
    REQUIRE(mkdtemp(s->dir));
    return s3_start(s);
}

static void s3_down(struct s3 *s)
{
    s3_stop(s);
    inetns_down(s->ns);
    if (s->dir[0])
        inetns_sh("rm -rf %s", s->dir);
}

/* sh -c script in the guest: its exit code (-1: no answer), stdout in out (newlines trimmed). */
static int gsh(struct vfx *f, const char *id, const char *script, char *out, size_t len)
{
    json_t *b = json_pack("{s:s,s:[s,s]}", "cmd", "sh", "args", "-c", script);
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    struct hresp r;
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec", id);
    int code = -1;
    if (out)
        out[0] = '\0';
    if (http_do(f->s.port, "POST", t, f->hdr, body, &r) == 0) {
        if (r.status == 200) {
            code = (int)jint(r.json, "data.result.exit_code");
            if (out)
                snprintf(out, len, "%s", jstr(r.json, "data.result.stdout") ?: "");
        } else {
            printf("    exec in %s: HTTP %d %.300s\n", id, r.status, r.body);
        }
        hresp_free(&r);
    }
    free(body);
    if (out) {
        size_t n = strlen(out);
        while (n && out[n - 1] == '\n')
            out[--n] = '\0';
    }
    return code;
}

/* POST /v1/disks for bucket; its id. */
static bool disk_new(struct vfx *f, const char *name, const char *bucket, char id[64])
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"name\":\"%s\",\"kind\":\"s3\",\"config\":{\"bucket\":\"%s\",\"endpoint\":\""
             ENDPOINT "\",\"use_path_style\":true},\"credentials\":{\"access_key\":\"S3RVER\","
             "\"secret_key\":\"" SECRET "\"}}",
             name, bucket);
    struct hresp r;
    REQUIRE(call(f, "POST", "/v1/disks", body, 200, &r));
    snprintf(id, 64, "%s", jstr(r.json, "data.id") ?: "");
    hresp_free(&r);
    return id[0] != '\0';
}

/* POST …/disks with body; the status. */
static int attach(struct vfx *f, const char *id, const char *body, struct hresp *keep)
{
    char t[160];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/disks", id);
    if (http_do(f->s.port, "POST", t, f->hdr, body, &r) != 0)
        return -1;
    int st = r.status;
    if (keep)
        *keep = r;
    else
        hresp_free(&r);
    return st;
}

/* DELETE …/disks/{disk}?mount_path=path: the status, detached in *ret. */
static int detach(struct vfx *f, const char *id, const char *disk, const char *path, bool *ret)
{
    char t[700];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/disks/%s%s%s", id, disk, path ? "?mount_path=" : "",
             path ? path : "");
    if (http_do(f->s.port, "DELETE", t, f->hdr, NULL, &r) != 0)
        return -1;
    int st = r.status;
    if (ret && r.json)
        *ret = json_is_true(json_object_get(json_object_get(r.json, "data"), "detached"));
    hresp_free(&r);
    return st;
}

/* The mount at path of sandbox id: its status ("" when none), its error in err. */
static void mount_of(struct vfx *f, const char *id, const char *path, char st[32], char *err,
                     size_t len)
{
    char t[160];
    struct hresp r;
    st[0] = '\0';
    if (err)
        err[0] = '\0';
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/disks?limit=100", id);
    if (http_do(f->s.port, "GET", t, f->hdr, NULL, &r) != 0)
        return;
    if (r.status != 200)
        printf("    GET %s: %d %.300s\n", t, r.status, r.body);
    json_t *a = json_object_get(json_object_get(r.json, "data"), "data");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *m = json_array_get(a, i);
        if (strcmp(json_string_value(json_object_get(m, "mount_path")) ?: "", path) != 0)
            continue;
        snprintf(st, 32, "%s", json_string_value(json_object_get(m, "mount_status")) ?: "?");
        if (err)
            snprintf(err, len, "%s", json_string_value(json_object_get(m, "mount_error")) ?: "");
    }
    hresp_free(&r);
}

/* Polls until the mount at path is want ("" = gone) for at most ms; fails the test otherwise. */
static bool wait_mount(struct vfx *f, const char *id, const char *path, const char *want, int ms)
{
    char st[32], err[300];
    for (int waited = 0; waited <= ms; waited += 200) {
        mount_of(f, id, path, st, err, sizeof(err));
        if (strcmp(st, want) == 0)
            return true;
        usleep(200 * 1000);
    }
    harness_fail(__FILE__, __LINE__, "mount %s of %s is '%s' (%s), not '%s'", path, id, st, err,
                 want);
    inetns_sh("grep -i 'disk\\|exec' %s | grep -v '\"GET\"' | tail -12 | cut -c1-400", f->s.log);
    return false;
}

static bool sb_op(struct vfx *f, const char *id, const char *what, const char *want_status)
{
    char t[160];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/%s", id, what);
    REQUIRE(call(f, "POST", t, NULL, 202, &r));
    hresp_free(&r);
    return wait_status_ms(f, id, want_status, 60000);
}

/* The mount source (hearth:<tag>) at path in the guest, "" when none. */
static void guest_source(struct vfx *f, const char *id, const char *path, char out[64])
{
    char s[256];
    snprintf(s, sizeof(s), "awk '$2 == \"%s\" { s = $1 } END { print s }' /proc/mounts", path);
    (void)gsh(f, id, s, out, 64);
}

/* Whether a file under dir (recursive) holds needle. */
static bool tree_holds(const char *dir, const char *needle)
{
    return inetns_sh("grep -rlaF '%s' '%s' >/dev/null 2>&1", needle, dir) == 0;
}

TEST_SLOW(disks_in_guests, 1500)
{
    struct s3 s;
    struct vfx f;
    char a[64] = "", c1[64] = "", c2[64] = "", m[64] = "", d1[64], d3[64];
    char out[4096], st[32], err[300], t[800], src1[64], src2[64];
    struct hresp r;
    bool det = false;
    if (!s3_up(&s))
        return;
    if (!vfx_start_conf(&f, CONF)) {
        s3_down(&s);
        return;
    }
    TREQ(disk_new(&f, "data", "bkt", d1));
    TREQ(disk_new(&f, "gone", "gone", d3));

    /* disks at create: mounted after boot, the create does not wait */
    TREQ(create(&f, "{" DEVBOX ",\"disks\":[{\"disk_id\":\"data\",\"mount_path\":\"/data/boot\"}]}",
                a));
    TREQ(wait_mount(&f, a, "/data/boot", "mounted", 60000));

    /* attach live: mounted; the same again is 200; another mount at the path is 400 */
    snprintf(t, sizeof(t), "{\"disk_id\":\"%s\",\"mount_path\":\"/data/a\"}", d1);
    TREQ(attach(&f, a, t, &r) == 200);
    CHECK_STR(jstr(r.json, "data.id") ?: "", a);
    CHECK(json_is_true(json_object_get(json_object_get(r.json, "data"), "ok")));
    hresp_free(&r);
    TREQ(wait_mount(&f, a, "/data/a", "mounted", 60000));
    CHECK_EQ(attach(&f, a, t, NULL), 200);
    TREQ(attach(&f, a, "{\"disk_id\":\"gone\",\"mount_path\":\"/data/a\"}", &r) == 400);
    CHECK_STR(jstr(r.json, "data.mount_path") ?: "", "already in use");
    hresp_free(&r);
    CHECK_EQ(attach(&f, a, "{\"disk_id\":\"nope\",\"mount_path\":\"/data/x\"}", NULL), 404);
    CHECK_EQ(attach(&f, "sb_01HZZZZZZZZZZZZZZZZZZZZZZZ",
                    "{\"disk_id\":\"data\",\"mount_path\":\"/data/x\"}", NULL), 404);

    /* a file from the guest is an object; an object from the host is a file */
    CHECK_EQ(gsh(&f, a, "echo from-guest > /data/a/hello.txt && sync", NULL, 0), 0);
    CHECK_EQ(inetns_sh(CURL "-f " ENDPOINT "/bkt/hello.txt | grep -qx from-guest"), 0);
    CHECK_EQ(inetns_sh(CURL "-f -X PUT --data-binary from-host " ENDPOINT "/bkt/fromhost.txt "
                            ">/dev/null"), 0);
    CHECK_EQ(gsh(&f, a, "cat /data/a/fromhost.txt", out, sizeof(out)), 0);
    CHECK_STR(out, "from-host");
    /* one disk at two paths */
    CHECK_EQ(gsh(&f, a, "cat /data/boot/hello.txt", out, sizeof(out)), 0);
    CHECK_STR(out, "from-guest");

    /* sub_path: the mount sees the prefix only */
    TREQ(attach(&f, a, "{\"disk_id\":\"data\",\"mount_path\":\"/data/sub\",\"sub_path\":\"dir/x\"}",
                NULL) == 200);
    TREQ(wait_mount(&f, a, "/data/sub", "mounted", 60000));
    CHECK_EQ(gsh(&f, a, "echo in-sub > /data/sub/f.txt && ls /data/sub", out, sizeof(out)), 0);
    CHECK(!strstr(out, "hello.txt"));
    CHECK_EQ(inetns_sh(CURL "-f " ENDPOINT "/bkt/dir/x/f.txt | grep -qx in-sub"), 0);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/disks", a);
    TREQ(call(&f, "GET", t, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 3);
    CHECK_STR(jstr(r.json, "data.data.0.mount_path") ?: "", "/data/a"); /* by mount_path */
    CHECK_STR(jstr(r.json, "data.data.2.sub_path") ?: "", "dir/x");
    CHECK_STR(jstr(r.json, "data.data.0.config.bucket") ?: "", "bkt");
    CHECK_STR(jstr(r.json, "data.data.0.kind") ?: "", "s3");
    CHECK(!strstr(r.body, SECRET) && !strstr(r.body, "S3RVER"));
    hresp_free(&r);

    /* hostile bodies: 400 with the field, nothing recorded */
    static const struct {
        const char *body, *field;
    } bad[] = {
        { "{\"disk_id\":\"data\",\"mount_path\":\"data/x\"}", "mount_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/data/../etc\"}", "mount_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/data/./x\"}", "mount_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/data/x/\"}", "mount_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/\"}", "mount_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/proc/x\"}", "mount_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/sys\"}", "mount_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/etc\"}", "mount_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/etc/ssh\"}", "mount_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/usr/lib\"}", "mount_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/lib64\"}", "mount_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/root\"}", "mount_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/tmp\"}", "mount_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/data/a b\"}", "mount_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/data/a\\nb\"}", "mount_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/data/\\u0000x\"}", "mount_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":[]}", "mount_path" },
        { "{\"disk_id\":\"data\"}", "mount_path" },
        { "{\"disk_id\":5,\"mount_path\":\"/data/x\"}", "disk_id" },
        { "{\"mount_path\":\"/data/x\"}", "disk_id" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/data/x\",\"sub_path\":\"../x\"}", "sub_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/data/x\",\"sub_path\":\"a/../b\"}", "sub_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/data/x\",\"sub_path\":\"/abs\"}", "sub_path" },
        { "{\"disk_id\":\"data\",\"mount_path\":\"/data/x\",\"sub_path\":{}}", "sub_path" },
        { "[1,2]", "body" },
        { "\"x\"", "body" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int code = attach(&f, a, bad[i].body, &r);
        CHECK_EQ(code, 400);
        if (code == 400 && !json_object_get(json_object_get(r.json, "data"), bad[i].field))
            harness_fail(__FILE__, __LINE__, "%s: no %s in %s", bad[i].body, bad[i].field,
                         r.body);
        hresp_free(&r);
    }
    /* a 2 KiB path, a 2 KiB sub_path */
    char longp[2100] = "/data/", body[4200];
    memset(longp + 6, 'x', 2048);
    longp[2054] = '\0';
    snprintf(body, sizeof(body), "{\"disk_id\":\"data\",\"mount_path\":\"%s\"}", longp);
    CHECK_EQ(attach(&f, a, body, NULL), 400);
    snprintf(body, sizeof(body), "{\"disk_id\":\"data\",\"mount_path\":\"/data/y\",\"sub_path\":"
                                 "\"%s\"}", longp + 1);
    CHECK_EQ(attach(&f, a, body, NULL), 400);
    CHECK_EQ(attach(&f, a, "{not json", NULL), 400);
    /* create's and fork's disks[] get the same rules */
    snprintf(t, sizeof(t), "{" DEVBOX ",\"disks\":[{\"disk_id\":\"data\",\"mount_path\":\"/etc\"}]}");
    TREQ(call(&f, "POST", "/v1/sandboxes", t, 400, &r));
    CHECK(json_object_get(json_object_get(r.json, "data"), "disks[0].mount_path") != NULL);
    hresp_free(&r);
    snprintf(t, sizeof(t), "{" DEVBOX ",\"disks\":[{\"disk_id\":\"nope\",\"mount_path\":\"/d\"}]}");
    TREQ(call(&f, "POST", "/v1/sandboxes", t, 400, &r));
    CHECK_STR(jstr(r.json, "data.code") ?: "", "unknown_reference");
    hresp_free(&r);
    snprintf(t, sizeof(t), "{" DEVBOX ",\"disks\":[{\"disk_id\":\"data\",\"mount_path\":\"/d\"},"
                           "{\"disk_id\":\"gone\",\"mount_path\":\"/d\"}]}");
    TREQ(call(&f, "POST", "/v1/sandboxes", t, 400, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/disks", a);
    TREQ(call(&f, "GET", t, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 3); /* nothing recorded by the refusals */
    hresp_free(&r);

    /* a disk that is attached cannot be deleted */
    snprintf(t, sizeof(t), "/v1/disks/%s", d1);
    TREQ(call(&f, "DELETE", t, NULL, 409, &r));
    CHECK_STR(jstr(r.json, "data.code") ?: "", "in_use");
    hresp_free(&r);

    /* detach with a file held open: the unmount is lazy, the reader still gets its bytes */
    CHECK_EQ(gsh(&f, a, "setsid sh -c 'exec 3</data/sub/f.txt; sleep 4; cat <&3 >/tmp/held.out' "
                        "</dev/null >/dev/null 2>&1 & sleep 1", NULL, 0), 0);
    CHECK_EQ(detach(&f, a, "data", "/data/sub", &det), 200);
    CHECK(det);
    TREQ(wait_mount(&f, a, "/data/sub", "", 30000));
    guest_source(&f, a, "/data/sub", src1);
    CHECK_STR(src1, "");
    usleep(5 * 1000 * 1000);
    CHECK_EQ(gsh(&f, a, "cat /tmp/held.out", out, sizeof(out)), 0);
    CHECK_STR(out, "in-sub");
    CHECK_EQ(detach(&f, a, "data", "/data/sub", &det), 200);
    CHECK(!det);
    CHECK_EQ(detach(&f, a, "data", NULL, NULL), 400);
    CHECK_EQ(detach(&f, a, "nope", "/data/a", NULL), 404);

    /* guest root kills s3fs: error with a reason, the sandbox runs, the round mounts again */
    CHECK_EQ(gsh(&f, a, "pkill -9 -x s3fs; true", NULL, 0), 0);
    TREQ(wait_mount(&f, a, "/data/a", "error", 30000));
    mount_of(&f, a, "/data/a", st, err, sizeof(err));
    printf("    after kill: %s\n", err);
    CHECK(err[0] != '\0');
    TREQ(wait_mount(&f, a, "/data/a", "mounted", 120000)); /* the 30 s round, then s3fs under TCG on a busy machine */
    CHECK_EQ(gsh(&f, a, "cat /data/a/hello.txt", out, sizeof(out)), 0);
    CHECK_STR(out, "from-guest");

    /* pause/resume keeps the mounts (re-checked); a rotation then pause/resume mounts again */
    guest_source(&f, a, "/data/a", src1);
    TREQ(sb_op(&f, a, "pause", "paused"));
    mount_of(&f, a, "/data/a", st, NULL, 0);
    CHECK_STR(st, "mounted"); /* its last status while paused */
    TREQ(sb_op(&f, a, "resume", "running"));
    TREQ(wait_mount(&f, a, "/data/a", "mounted", 30000));
    guest_source(&f, a, "/data/a", src2);
    CHECK_STR(src2, src1); /* kept, not mounted again */
    CHECK_EQ(gsh(&f, a, "cat /data/a/hello.txt", out, sizeof(out)), 0);
    CHECK_STR(out, "from-guest");
    snprintf(t, sizeof(t), "/v1/disks/%s", d1);
    TREQ(call(&f, "PATCH", t, "{\"credentials\":{\"access_key\":\"S3RVER\",\"secret_key\":\""
                              SECRET2 "\"}}", 200, &r));
    hresp_free(&r);
    TREQ(sb_op(&f, a, "pause", "paused"));
    TREQ(sb_op(&f, a, "resume", "running"));
    for (int i = 0; i < 150; i++) { /* mounted again with the rotated credentials */
        guest_source(&f, a, "/data/a", src2);
        if (src2[0] && strcmp(src2, src1) != 0)
            break;
        usleep(200 * 1000);
    }
    CHECK(src2[0] && strcmp(src2, src1) != 0);
    TREQ(wait_mount(&f, a, "/data/a", "mounted", 30000));

    /* forks: nothing inherited; disks in the body are the child's */
    TREQ(sb_op(&f, a, "pause", "paused"));
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/fork", a);
    TREQ(http_do(f.s.port, "POST", t, f.hdr, "{}", &r) == 0);
    CHECK(r.status == 200 || r.status == 202);
    snprintf(c1, sizeof(c1), "%s", jstr(r.json, "data.id") ?: "");
    hresp_free(&r);
    TREQ(c1[0] && wait_status_ms(&f, c1, "running", 60000));
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/disks", c1);
    TREQ(call(&f, "GET", t, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 0);
    hresp_free(&r);
    out[0] = 'x';
    for (int i = 0; i < 100 && out[0]; i++) { /* the source's mounts let go of */
        (void)gsh(&f, c1, "grep '^hearth:' /proc/mounts; pgrep -x s3fs", out,
                  sizeof(out));
        if (out[0])
            usleep(200 * 1000);
    }
    CHECK_STR(out, "");
    CHECK(destroy(&f, c1));
    c1[0] = '\0';
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/fork", a);
    TREQ(http_do(f.s.port, "POST", t, f.hdr,
                 "{\"disks\":[{\"disk_id\":\"data\",\"mount_path\":\"/data/f\"}]}", &r) == 0);
    CHECK(r.status == 200 || r.status == 202);
    snprintf(c2, sizeof(c2), "%s", jstr(r.json, "data.id") ?: "");
    hresp_free(&r);
    TREQ(c2[0] && wait_status_ms(&f, c2, "running", 60000));
    TREQ(wait_mount(&f, c2, "/data/f", "mounted", 60000));
    mount_of(&f, c2, "/data/a", st, NULL, 0);
    CHECK_STR(st, "");
    guest_source(&f, c2, "/data/a", src2);
    CHECK_STR(src2, "");
    /* two sandboxes on one bucket */
    TREQ(sb_op(&f, a, "resume", "running"));
    TREQ(wait_mount(&f, a, "/data/a", "mounted", 30000));
    CHECK_EQ(gsh(&f, c2, "echo from-child > /data/f/child.txt", NULL, 0), 0);
    CHECK_EQ(gsh(&f, a, "cat /data/a/child.txt", out, sizeof(out)), 0);
    CHECK_STR(out, "from-child");
    CHECK(destroy(&f, c2));
    c2[0] = '\0';

    /* kill -9 of hearthd: the adopted VM's mounts are checked again and looked after */
    TREQ(crash_restart(&f));
    CHECK_EQ(gsh(&f, a, "pkill -9 -x s3fs; true", NULL, 0), 0);
    TREQ(wait_mount(&f, a, "/data/a", "error", 30000));
    TREQ(wait_mount(&f, a, "/data/a", "mounted", 60000));

    /* the minimal image has no s3fs: error, with the reason */
    TREQ(create(&f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\",\"disks\":[{\"disk_id\":"
                    "\"data\",\"mount_path\":\"/data/m\"}]}", m));
    TREQ(wait_mount(&f, m, "/data/m", "error", 60000));
    mount_of(&f, m, "/data/m", st, err, sizeof(err));
    CHECK(strstr(err, "s3fs") != NULL);
    CHECK(destroy(&f, m));
    m[0] = '\0';

    /* no secret in the clear: not in the data dir's store, logs or disk layers (the memory
     * snapshots hold guest RAM, s3fs's environment included: docs/security.md) */
    TREQ(sb_op(&f, a, "pause", "paused"));
    CHECK(!inetns_sh("find %s -name '*.qcow2' -print0 | xargs -0 grep -laF '%s' >/dev/null 2>&1",
                     f.s.data, SECRET) == 0);
    CHECK(!inetns_sh("find %s -name '*.qcow2' -print0 | xargs -0 grep -laF '%s' >/dev/null 2>&1",
                     f.s.data, SECRET2) == 0);
    CHECK(inetns_sh("find %s -name '*.qcow2' | grep -q .", f.s.data) == 0);
    CHECK(!inetns_sh("find %s -maxdepth 1 -type f -print0 | xargs -0 grep -laF '%s' >/dev/null "
                     "2>&1", f.s.data, SECRET) == 0);
    CHECK(!tree_holds(f.s.log, SECRET) && !tree_holds(f.s.log, SECRET2));
    CHECK(destroy(&f, a));
    a[0] = '\0';
    /* detached from nothing now: the disk can go */
    snprintf(t, sizeof(t), "/v1/disks/%s", d1);
    CHECK(call(&f, "DELETE", t, NULL, 200, &r));
    hresp_free(&r);
out:
    /* a sanitizer report or a crash of hearthd, shown with the test's output */
    inetns_sh("grep -A30 -E 'AddressSanitizer|runtime error|LeakSanitizer' %s | head -60", f.s.log);
    if (c1[0])
        destroy(&f, c1);
    if (c2[0])
        destroy(&f, c2);
    if (m[0])
        destroy(&f, m);
    if (a[0])
        destroy(&f, a);
    vfx_end(&f);
    s3_down(&s);
}

/* A server that goes away under a mount, and a bucket deleted under one: error with a reason,
 * exec still answers, mounted again once they are back (docs/disks.md "An endpoint that goes
 * away under a mount"). */
TEST_SLOW(disks_outage, 900)
{
    struct s3 s;
    struct vfx f;
    char a[64] = "", d1[64], d3[64], out[4096], st[32], err[300];
    bool det = false;
    if (!s3_up(&s))
        return;
    if (!vfx_start_conf(&f, CONF)) {
        s3_down(&s);
        return;
    }
    TREQ(disk_new(&f, "data", "bkt", d1));
    TREQ(disk_new(&f, "gone", "gone", d3));
    TREQ(create(&f, "{" DEVBOX ",\"disks\":[{\"disk_id\":\"data\",\"mount_path\":\"/data/a\"}]}",
                a));
    TREQ(wait_mount(&f, a, "/data/a", "mounted", 60000));
    /* the server goes away: error with a reason, exec still answers; back: mounted */
    s3_stop(&s);
    TREQ(wait_mount(&f, a, "/data/a", "error", 60000));
    mount_of(&f, a, "/data/a", st, err, sizeof(err));
    printf("    server down: %s\n", err);
    CHECK(err[0] != '\0');
    CHECK_EQ(gsh(&f, a, "echo alive", out, sizeof(out)), 0);
    CHECK_STR(out, "alive");
    TREQ(s3_start(&s));
    TREQ(wait_mount(&f, a, "/data/a", "mounted", 90000));

    /* a bucket removed: error; made again: mounted */
    TREQ(attach(&f, a, "{\"disk_id\":\"gone\",\"mount_path\":\"/data/gone\"}", NULL) == 200);
    TREQ(wait_mount(&f, a, "/data/gone", "mounted", 60000));
    CHECK_EQ(inetns_sh(CURL "-f -X DELETE " ENDPOINT "/gone"), 0);
    TREQ(wait_mount(&f, a, "/data/gone", "error", 60000));
    mount_of(&f, a, "/data/gone", st, err, sizeof(err));
    printf("    bucket gone: %s\n", err);
    CHECK_EQ(inetns_sh(CURL "-f -X PUT " ENDPOINT "/gone"), 0);
    TREQ(wait_mount(&f, a, "/data/gone", "mounted", 90000));
    CHECK_EQ(detach(&f, a, d3, "/data/gone", &det), 200);
    CHECK(det);
    TREQ(wait_mount(&f, a, "/data/gone", "", 30000));

out:
    if (a[0])
        destroy(&f, a);
    vfx_end(&f);
    s3_down(&s);
}
