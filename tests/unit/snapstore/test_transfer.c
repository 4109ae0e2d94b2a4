/* SPDX-License-Identifier: MIT */
/* test_transfer.c: one snapshot directory to a real s3rver and back (snapstore/upload.h,
 * fetch.h), without VMs: a sparse RAM file, a qcow2 disk layer on a "golden" layer under
 * data_dir on a raw image under images_dir (qemu-img makes them), state and meta.json. The
 * fetched copy has the same bytes and the same holes; the golden layer comes back when it is
 * gone; a second upload of the same data stores nothing new; a corrupted, a missing chunk and
 * a manifest of another snapshot fail the fetch with their reason and leave no directory. */
#include "daemon/snapstore/chunk.h"
#include "daemon/snapstore/fetch.h"
#include "daemon/snapstore/manifest.h"
#include "daemon/snapstore/remote.h"
#include "daemon/snapstore/upload.h"
#include "harness.h"
#include "s3/s3fx.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct tx {
    struct s3fx s3;
    char root[64];
    char data[128], images[128], snap[256], golden[256];
    struct snap_remote remote;
    struct snap_conn conn;
    struct snap_paths paths;
};

static bool sh(const char *fmt, const char *a, const char *b)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), fmt, a, b);
    return system(cmd) == 0;
}

static bool write_at(const char *path, off_t off, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && pwrite(fd, p, n, off) == (ssize_t)n;
    if (fd >= 0)
        close(fd);
    return ok;
}

static bool tx_start(struct tx *t)
{
    memset(t, 0, sizeof(*t));
    if (system("qemu-img --version >/dev/null 2>&1") != 0)
        harness_skip("qemu-img is needed");
    if (!s3fx_start(&t->s3, "snaps"))
        return false;
    snprintf(t->root, sizeof(t->root), "/tmp/hearth-tx-XXXXXX");
    REQUIRE(mkdtemp(t->root));
    snprintf(t->data, sizeof(t->data), "%s/data", t->root);
    snprintf(t->images, sizeof(t->images), "%s/images", t->root);
    snprintf(t->golden, sizeof(t->golden), "%s/golden/k1", t->data);
    snprintf(t->snap, sizeof(t->snap), "%s/snapshots/sb-1/01J0", t->data);
    char p[512];
    REQUIRE(sh("mkdir -p %s %s", t->images, t->golden) && sh("mkdir -p %s%s", t->snap, ""));
    /* raw base image, golden layer on it, snapshot layer on the golden */
    snprintf(p, sizeof(p), "%s/base.ext4", t->images);
    REQUIRE(sh("truncate -s 64M %s%s", p, ""));
    REQUIRE(write_at(p, 1 << 20, "base-data", 9));
    char g[512], d[512];
    snprintf(g, sizeof(g), "%s/disk.qcow2", t->golden);
    REQUIRE(sh("qemu-img create -q -f qcow2 -F raw -b %s %s 64M", p, g));
    REQUIRE(sh("qemu-io -c 'write -P 0x5a 0 1M' %s >/dev/null%s", g, ""));
    snprintf(d, sizeof(d), "%s/disk.qcow2", t->snap);
    REQUIRE(sh("qemu-img create -q -f qcow2 -F qcow2 -b %s %s 64M", g, d));
    REQUIRE(sh("qemu-io -c 'write -P 0x33 8M 2M' %s >/dev/null%s", d, ""));
    /* a sparse 64 MiB RAM file with data in three chunks */
    snprintf(p, sizeof(p), "%s/mem", t->snap);
    REQUIRE(sh("truncate -s 64M %s%s", p, ""));
    char *blk = malloc(1 << 20);
    REQUIRE(blk);
    for (int i = 0; i < (1 << 20); i++)
        blk[i] = (char)(i * 7);
    REQUIRE(write_at(p, 0, blk, 1 << 20));
    REQUIRE(write_at(p, 20 << 20, blk, 1 << 20));
    REQUIRE(write_at(p, (64 << 20) - 100, "tail", 4));
    free(blk);
    snprintf(p, sizeof(p), "%s/state", t->snap);
    REQUIRE(write_at(p, 0, "device-state", 12));
    snprintf(p, sizeof(p), "%s/meta.json", t->snap);
    REQUIRE(write_at(p, 0, "{\"format\":1}\n", 13));
    snprintf(t->remote.endpoint, sizeof(t->remote.endpoint), "%s", t->s3.endpoint);
    snprintf(t->remote.bucket, sizeof(t->remote.bucket), "snaps");
    snprintf(t->remote.access_key, sizeof(t->remote.access_key), "S3RVER");
    snprintf(t->remote.secret_key, sizeof(t->remote.secret_key), "S3RVER");
    t->remote.path_style = true;
    char why[DISK_S3_WHY_SIZE];
    REQUIRE(snap_remote_connect(&t->remote, &t->conn, why) == 0);
    t->paths = (struct snap_paths){ .data_dir = t->data, .images_dir = t->images };
    return true;
}

static void tx_end(struct tx *t)
{
    s3fx_stop(&t->s3);
    if (t->root[0])
        (void)sh("rm -rf %s%s", t->root, "");
}

static bool same_file(const char *a, const char *b)
{
    return sh("cmp -s %s %s", a, b);
}

static long long blocks(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_blocks * 512 : -1;
}

static void round_trip_run(struct tx *tp)
{
#define t (*tp)
    char key[SNAP_KEY_SIZE], why[DISK_S3_WHY_SIZE], keep[512], p[512], q[512];
    struct snap_xfer_stats st;
    struct snap_xfer_ctl x = { 0 };
    CHECK_EQ(snap_upload_snapshot(&t.conn.s3, &t.paths, t.snap, &x, &st, key, why), 0);
    CHECK_STR(key, "manifests/snapshots/sb-1/01J0.json");
    CHECK_EQ(st.layers, 1);              /* the golden layer; the raw image is never uploaded */
    CHECK(st.holes >= 13);               /* 16 chunks of mem, 3 with data */
    CHECK(st.chunks_sent >= 5);
    CHECK_EQ(atomic_load(&x.done_bytes), st.plain_bytes);
    /* again: every chunk is there already, nothing is sent, the layer is skipped */
    struct snap_xfer_stats st2;
    CHECK_EQ(snap_upload_snapshot(&t.conn.s3, &t.paths, t.snap, NULL, &st2, key, why), 0);
    CHECK_EQ(st2.chunks_sent, 0);
    CHECK(st2.chunks_present > 0);
    CHECK_EQ(st2.layers, 0);

    /* the local copy (and the golden layer) go; the fetch brings both back, holes and all */
    snprintf(keep, sizeof(keep), "%s/keep", t.root);
    CHECK(sh("cp -a --sparse=always %s %s", t.snap, keep));
    snprintf(p, sizeof(p), "%s/golden.qcow2", t.root);
    snprintf(q, sizeof(q), "%s/disk.qcow2", t.golden);
    CHECK(sh("cp %s %s", q, p));
    CHECK(sh("rm -rf %s %s", t.snap, t.golden));
    CHECK_EQ(snap_fetch_snapshot(&t.conn.s3, &t.paths, t.snap, &st, why), 0);
    CHECK_EQ(st.layers, 1);
    static const char *const files[] = { "mem", "disk.qcow2", "state", "meta.json" };
    for (size_t i = 0; i < 4; i++) {
        char a[600], b[600];
        snprintf(a, sizeof(a), "%s/%s", keep, files[i]);
        snprintf(b, sizeof(b), "%s/%s", t.snap, files[i]);
        if (!same_file(a, b))
            harness_fail(__FILE__, __LINE__, "'%s' differs after the fetch", files[i]);
    }
    CHECK(same_file(p, q));
    snprintf(p, sizeof(p), "%s/mem", t.snap);
    CHECK(blocks(p) < (16 << 20)); /* sparse: ~2 MiB of 64 */
    /* qemu-img reads the whole chain back */
    snprintf(p, sizeof(p), "%s/disk.qcow2", t.snap);
    CHECK(sh("qemu-img check -q %s >/dev/null%s", p, ""));
    CHECK(sh("qemu-io -c 'read -P 0x5a 0 1M' -c 'read -P 0x33 8M 2M' %s >/dev/null%s", p, ""));

    /* a directory that exists is not fetched over; a missing manifest is -ENOENT */
    char other[300];
    snprintf(other, sizeof(other), "%s/snapshots/sb-2/01J9", t.data);
    CHECK_EQ(snap_fetch_snapshot(&t.conn.s3, &t.paths, other, &st, why), -ENOENT);
    CHECK(strstr(why, "no manifest") != NULL);

    /* a corrupted chunk: -EBADMSG, nothing left behind */
    uint8_t *text;
    size_t len;
    CHECK(disk_s3_get(&t.conn.s3, key, SNAP_MANIFEST_MAX, &text, &len, why) == 0);
    struct snap_manifest m;
    const char *w;
    CHECK(snap_manifest_parse((const char *)text, len, &m, &w) == 0);
    free(text);
    char ck[SNAP_CHUNK_KEY_SIZE];
    snap_chunk_key(m.files[0].chunks[0].sha, ck);
    snap_manifest_release(&m);
    uint8_t *orig;
    size_t olen;
    CHECK(disk_s3_get(&t.conn.s3, ck, 8u << 20, &orig, &olen, why) == 0);
    uint8_t *z;
    size_t zlen;
    CHECK(snap_chunk_compress("other bytes", 11, &z, &zlen) == 0);
    CHECK_EQ(disk_s3_put(&t.conn.s3, ck, z, zlen, why), 0);
    free(z);
    CHECK(sh("rm -rf %s%s", t.snap, ""));
    CHECK_EQ(snap_fetch_snapshot(&t.conn.s3, &t.paths, t.snap, &st, why), -EBADMSG);
    CHECK(strstr(why, "corrupt") != NULL);
    CHECK(access(t.snap, F_OK) != 0);
    snprintf(p, sizeof(p), "%s.fetch", t.snap);
    CHECK(access(p, F_OK) != 0);
    /* missing: -ENOENT with the reason */
    CHECK_EQ(disk_s3_delete(&t.conn.s3, ck, why), 0);
    CHECK_EQ(snap_fetch_snapshot(&t.conn.s3, &t.paths, t.snap, &st, why), -ENOENT);
    CHECK(strstr(why, "missing") != NULL);
    /* whole again */
    CHECK_EQ(disk_s3_put(&t.conn.s3, ck, orig, olen, why), 0);
    free(orig);
    CHECK_EQ(snap_fetch_snapshot(&t.conn.s3, &t.paths, t.snap, &st, why), 0);
    /* a manifest stored under another snapshot's key is refused */
    CHECK(disk_s3_get(&t.conn.s3, key, SNAP_MANIFEST_MAX, &text, &len, why) == 0);
    CHECK_EQ(disk_s3_put(&t.conn.s3, "manifests/snapshots/sb-3/01JX.json", text, len, why), 0);
    free(text);
    snprintf(other, sizeof(other), "%s/snapshots/sb-3/01JX", t.data);
    CHECK_EQ(snap_fetch_snapshot(&t.conn.s3, &t.paths, other, &st, why), -EBADMSG);
    CHECK(strstr(why, "another snapshot") != NULL);
    /* a cancelled upload stops */
    struct snap_xfer_ctl c = { 0 };
    atomic_store(&c.cancel, true);
    CHECK_EQ(snap_upload_snapshot(&t.conn.s3, &t.paths, t.snap, &c, &st, key, why), -ECANCELED);
#undef t
}

TEST_SLOW(upload_fetch_round_trip, 180)
{
    struct tx t;
    if (!tx_start(&t))
        return;
    round_trip_run(&t);
    tx_end(&t);
}

TEST_SLOW(upload_fails_when_s3_is_down, 60)
{
    struct tx t;
    if (!tx_start(&t))
        return;
    s3fx_stop(&t.s3); /* nothing listens any more */
    char key[SNAP_KEY_SIZE], why[DISK_S3_WHY_SIZE];
    struct snap_xfer_stats st;
    int r = snap_upload_snapshot(&t.conn.s3, &t.paths, t.snap, NULL, &st, key, why);
    CHECK(r < 0);
    CHECK(why[0] != '\0');
    tx_end(&t);
}
