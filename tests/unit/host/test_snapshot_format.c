/* SPDX-License-Identifier: MIT */
/* test_snapshot_format.c: the snapshot directory format without QEMU (snapshot.h, ramsum.h):
 * meta.json records the RAM file's checksum; a torn page, a truncated or extended file, a
 * changed byte and a zeroed chunk all fail verification with a message naming the RAM file;
 * holes and written zeros digest alike; an old meta.json without the checksum still loads. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/herr.h"
#include "daemon/host/ramsum.h"
#include "daemon/host/snapshot.h"

#define MIB 16u

struct fx {
    char dir[64], kernel[128], mem[160];
};

static void put(const char *dir, const char *name, const void *data, size_t len, off_t size)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (size)
        (void)!ftruncate(fd, size);
    if (len)
        (void)!pwrite(fd, data, len, 0);
    close(fd);
}

/* A snapshot of a 16 MiB guest: data in chunks 0, 3 and the last one, holes elsewhere. */
static bool fx_make(struct fx *f)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/hearth-snapfmt-XXXXXX");
    if (!mkdtemp(f->dir))
        return false;
    snprintf(f->kernel, sizeof(f->kernel), "%s/vmlinux", f->dir);
    snprintf(f->mem, sizeof(f->mem), "%s/mem", f->dir);
    put(f->dir, "vmlinux", "kernel", 6, 0);
    put(f->dir, "state", "device-state", 12, 0);
    put(f->dir, "disk.qcow2", "QFI", 3, 0);
    put(f->dir, "mem", "page0", 5, (off_t)MIB << 20);
    int fd = open(f->mem, O_WRONLY | O_CLOEXEC);
    char page[4096];
    memset(page, 0xab, sizeof(page));
    (void)!pwrite(fd, page, sizeof(page), 3 << 20);
    (void)!pwrite(fd, page, sizeof(page), ((off_t)MIB << 20) - 4096);
    close(fd);
    struct snapshot_meta m = { .vcpus = 1, .memory_mib = MIB, .kernel_size = 6 };
    snprintf(m.qemu_version, sizeof(m.qemu_version), "7.2.0");
    snprintf(m.kernel, sizeof(m.kernel), "%s", f->kernel);
    struct herr e = { 0 };
    if (snapshot_meta_write(f->dir, &m, &e) < 0) {
        harness_fail(__FILE__, __LINE__, "meta write: %s", e.msg);
        return false;
    }
    return strlen(m.mem_xxh128) == 32 && m.mem_data_bytes == 3u << 20;
}

static void fx_end(struct fx *f)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    (void)!system(cmd);
}

static int verify(struct fx *f, struct herr *e)
{
    struct snapshot_meta m;
    return snapshot_verify(f->dir, 1, MIB, f->kernel, SNAPSHOT_VERIFY_RAM, &m, e);
}

TEST(snapshot_ram_checksum_whole)
{
    struct fx f;
    CHECK(fx_make(&f));
    struct herr e = { 0 };
    CHECK_EQ(verify(&f, &e), 0);
    /* without the flag the RAM file is not read (the shared-base cache's fast path) */
    struct snapshot_meta m;
    CHECK_EQ(snapshot_verify(f.dir, 1, MIB, f.kernel, 0, &m, &e), 0);
    CHECK_EQ(strlen(m.mem_xxh128), 32);
    fx_end(&f);
}

/* Each damage a crash or a bad disk can do to the RAM file fails with a clear message. */
TEST(snapshot_ram_checksum_damage)
{
    struct fx f;
    CHECK(fx_make(&f));
    char page[4096];
    struct herr e;
    /* a torn page: the second write of a page never reached the disk (zeros instead) */
    memset(page, 0, sizeof(page));
    int fd = open(f.mem, O_WRONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK_EQ(pwrite(fd, page, sizeof(page), 3 << 20), (ssize_t)sizeof(page));
    e = (struct herr){ 0 };
    CHECK_EQ(verify(&f, &e), -EBADMSG);
    CHECK(strstr(e.msg, "RAM file fails its checksum") != NULL);
    /* put it back: whole again */
    memset(page, 0xab, sizeof(page));
    CHECK_EQ(pwrite(fd, page, sizeof(page), 3 << 20), (ssize_t)sizeof(page));
    e = (struct herr){ 0 };
    CHECK_EQ(verify(&f, &e), 0);
    /* one byte changed in a chunk that held only zeros */
    CHECK_EQ(pwrite(fd, "x", 1, 7 << 20), 1);
    e = (struct herr){ 0 };
    CHECK_EQ(verify(&f, &e), -EBADMSG);
    CHECK_EQ(pwrite(fd, "\0", 1, 7 << 20), 1); /* written zeros digest like the hole */
    e = (struct herr){ 0 };
    CHECK_EQ(verify(&f, &e), 0);
    /* truncated, then extended: the size check names it */
    CHECK_EQ(ftruncate(fd, 8 << 20), 0);
    e = (struct herr){ 0 };
    CHECK_EQ(verify(&f, &e), -EBADMSG);
    CHECK(strstr(e.msg, "RAM file is") != NULL);
    CHECK_EQ(ftruncate(fd, (off_t)MIB << 20), 0); /* back to size, its last page lost */
    e = (struct herr){ 0 };
    CHECK_EQ(verify(&f, &e), -EBADMSG);
    CHECK(strstr(e.msg, "fails its checksum") != NULL);
    close(fd);
    fx_end(&f);
}

/* Sets meta.json's mem_xxh128 to sum (NULL removes it). */
static bool set_sum(struct fx *f, const char *sum)
{
    char mp[200];
    snprintf(mp, sizeof(mp), "%s/meta.json", f->dir);
    json_t *j = json_load_file(mp, 0, NULL);
    REQUIRE(j != NULL);
    if (sum)
        json_object_set_new(j, "mem_xxh128", json_string(sum));
    else
        json_object_del(j, "mem_xxh128");
    int r = json_dump_file(j, mp, 0);
    json_decref(j);
    REQUIRE(r == 0);
    return true;
}

/* A copy that fills the holes with written zeros (cp without sparse support) keeps the digest;
 * a snapshot written before the checksum existed still verifies. */
TEST(snapshot_ram_checksum_layout_and_old_meta)
{
    struct fx f;
    CHECK(fx_make(&f));
    char a[RAMSUM_HEX], b[RAMSUM_HEX], dense[200];
    uint64_t da = 0, db = 0;
    CHECK_EQ(ramsum_file(f.mem, a, &da), 0);
    snprintf(dense, sizeof(dense), "%s/dense", f.dir);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "cp --sparse=never %s %s", f.mem, dense);
    CHECK_EQ(system(cmd), 0);
    CHECK_EQ(ramsum_file(dense, b, &db), 0);
    CHECK_STR(a, b);
    CHECK(db > da); /* it read the written zeros the sparse file did not have */
    /* drop mem_xxh128 from meta.json: an older hearth's snapshot */
    CHECK(set_sum(&f, NULL));
    int fd = open(f.mem, O_WRONLY | O_CLOEXEC);
    CHECK_EQ(pwrite(fd, "y", 1, 5 << 20), 1); /* not detectable without a checksum */
    close(fd);
    struct herr e = { 0 };
    CHECK_EQ(verify(&f, &e), 0);
    /* hostile values in meta.json: a wrong checksum and a malformed, overlong one both fail */
    static const char *const bad[] = { "00000000000000000000000000000000",
                                       "not hex and far too long for the field", "" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(set_sum(&f, bad[i]));
        e = (struct herr){ 0 };
        CHECK_EQ(verify(&f, &e), -EBADMSG);
    }
    fx_end(&f);
}

/* The accelerator that ran the VM round-trips through meta.json; a snapshot from before it
 * was recorded reads "" (accepted by any host), a foreign value reads "" too (never trusted
 * as a name). */
TEST(snapshot_meta_accel)
{
    struct fx f;
    CHECK(fx_make(&f));
    struct snapshot_meta m = { .vcpus = 1, .memory_mib = MIB, .kernel_size = 6 };
    snprintf(m.qemu_version, sizeof(m.qemu_version), "7.2.0");
    snprintf(m.kernel, sizeof(m.kernel), "%s", f.kernel);
    snprintf(m.accel, sizeof(m.accel), "kvm");
    struct herr e = { 0 };
    CHECK_EQ(snapshot_meta_write(f.dir, &m, &e), 0);
    struct snapshot_meta r;
    CHECK_EQ(snapshot_verify(f.dir, 1, MIB, f.kernel, 0, &r, &e), 0);
    CHECK_STR(r.accel, "kvm");
    char mp[200];
    snprintf(mp, sizeof(mp), "%s/meta.json", f.dir);
    json_t *j = json_load_file(mp, 0, NULL);
    CHECK(j != NULL);
    json_object_set_new(j, "accel", json_string("hvf;rm -rf"));
    CHECK_EQ(json_dump_file(j, mp, 0), 0);
    CHECK_EQ(snapshot_verify(f.dir, 1, MIB, f.kernel, 0, &r, &e), 0);
    CHECK_STR(r.accel, "");
    json_object_del(j, "accel");
    CHECK_EQ(json_dump_file(j, mp, 0), 0);
    json_decref(j);
    CHECK_EQ(snapshot_verify(f.dir, 1, MIB, f.kernel, 0, &r, &e), 0);
    CHECK_STR(r.accel, "");
    fx_end(&f);
}
