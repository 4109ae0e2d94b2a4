/* SPDX-License-Identifier: MIT */
/* test_manifest.c: the pure parts of snapshots on S3 (snapstore/manifest.h, chunk.h,
 * qcow2_backing.h): a manifest survives its JSON round trip; hostile manifests (wrong format,
 * unsafe paths, chunk lists that do not fit the file, duplicate files, bad hashes) are refused
 * with -EBADMSG; chunks compress and decompress, a hostile frame cannot overflow; zero
 * detection; the qcow2 backing name. */
#include "daemon/snapstore/chunk.h"
#include "daemon/snapstore/manifest.h"
#include "daemon/snapstore/qcow2_backing.h"
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* REQUIRE for void functions: fail and leave the test */
#define NEED(cond)                                                                               \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            harness_fail(__FILE__, __LINE__, "%s", #cond);                                       \
            return;                                                                              \
        }                                                                                        \
    } while (0)

static const char *sha_a = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char *sha_b = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

static void fill(struct snap_manifest *m)
{
    snap_manifest_init(m);
    m->kind = SNAP_KIND_SNAPSHOT;
    snprintf(m->id, sizeof(m->id), "snapshots/sb-1/01J");
    m->chunk_size = SNAP_CHUNK_SIZE;
    snprintf(m->files[0].name, sizeof(m->files[0].name), "mem");
    m->files[0].size = 256ull << 20;
    NEED(snap_file_add_chunk(&m->files[0], 0, sha_a) == 0);
    NEED(snap_file_add_chunk(&m->files[0], 63, sha_b) == 0);
    snprintf(m->files[1].name, sizeof(m->files[1].name), "disk.qcow2");
    m->files[1].size = 5 << 20;
    NEED(snap_file_add_chunk(&m->files[1], 1, sha_a) == 0);
    snprintf(m->files[2].name, sizeof(m->files[2].name), "state");
    m->files[2].size = 53000;
    m->n_files = 3;
    m->backing = SNAP_BACKING_DATA;
    snprintf(m->backing_path, sizeof(m->backing_path), "golden/abc/disk.qcow2");
    snprintf(m->parent, sizeof(m->parent), "snapshots/sb-0/01H");
    m->meta = strdup("{\"format\":1,\"q\":\"\\\"x\\\"\"}\n");
    NEED(m->meta);
}

TEST(manifest_round_trip)
{
    struct snap_manifest m, back;
    fill(&m);
    char *text = snap_manifest_to_json(&m);
    NEED(text);
    const char *why = NULL;
    CHECK_EQ(snap_manifest_parse(text, strlen(text), &back, &why), 0);
    CHECK_EQ(back.kind, SNAP_KIND_SNAPSHOT);
    CHECK_STR(back.id, m.id);
    CHECK_EQ(back.chunk_size, SNAP_CHUNK_SIZE);
    CHECK_EQ(back.n_files, 3);
    CHECK_EQ(back.files[0].size, 256ull << 20);
    CHECK_EQ(back.files[0].n_chunks, 2);
    CHECK_EQ(back.files[0].chunks[1].index, 63);
    CHECK_STR(back.files[0].chunks[1].sha, sha_b);
    CHECK_EQ(back.files[2].n_chunks, 0); /* all holes */
    CHECK_EQ(back.backing, SNAP_BACKING_DATA);
    CHECK_STR(back.backing_path, "golden/abc/disk.qcow2");
    CHECK_STR(back.parent, "snapshots/sb-0/01H");
    CHECK_STR(back.meta, m.meta);
    char key[SNAP_REL_SIZE + 32];
    CHECK_EQ(snap_manifest_key(SNAP_KIND_SNAPSHOT, m.id, key, sizeof(key)), 0);
    CHECK_STR(key, "manifests/snapshots/sb-1/01J.json");
    CHECK_EQ(snap_manifest_key(SNAP_KIND_LAYER, "golden/k/disk.qcow2", key, sizeof(key)), 0);
    CHECK_STR(key, "layers/golden/k/disk.qcow2.json");
    CHECK_EQ(snap_manifest_key(SNAP_KIND_LAYER, "golden/k/disk.qcow2", key, 10), -ENAMETOOLONG);
    free(text);
    snap_manifest_release(&back);
    snap_manifest_release(&m);
}

TEST(manifest_hostile)
{
#define HEAD "{\"format\":\"hearth-snapshot-manifest\",\"version\":1,"
#define SHA "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\""
#define OKB ",\"backing\":{\"kind\":\"none\",\"path\":\"\"},\"parent\":\"\",\"meta\":\"{}\"}"
    static const char *const bad[] = {
        "",
        "[]",
        "{",
        "{\"format\":\"other\",\"version\":1}",
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\"}",
        "{\"format\":\"hearth-snapshot-manifest\",\"version\":2,\"kind\":\"snapshot\"}",
        HEAD "\"kind\":\"weird\",\"id\":\"a\",\"chunk_size\":4194304,\"files\":[]" OKB,
        /* unsafe identities */
        HEAD "\"kind\":\"snapshot\",\"id\":\"../etc\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":0,\"chunks\":[]}]" OKB,
        HEAD "\"kind\":\"snapshot\",\"id\":\"/abs\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":0,\"chunks\":[]}]" OKB,
        HEAD "\"kind\":\"snapshot\",\"id\":\"a//b\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":0,\"chunks\":[]}]" OKB,
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":0,\"chunks\":[]}],"
             "\"backing\":{\"kind\":\"data\",\"path\":\"../../etc/shadow\"},\"parent\":\"\","
             "\"meta\":\"{}\"}",
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":0,\"chunks\":[]}],"
             "\"backing\":{\"kind\":\"none\",\"path\":\"x\"},\"parent\":\"\",\"meta\":\"{}\"}",
        /* files */
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"../mem\",\"size\":0,\"chunks\":[]}]" OKB,
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":0,\"chunks\":[]},"
             "{\"name\":\"mem\",\"size\":0,\"chunks\":[]}]" OKB,
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":-1,\"chunks\":[]}]" OKB,
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":1099511627777,\"chunks\":[]}]" OKB,
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,\"files\":[]" OKB,
        /* chunks */
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":4194304,\"chunks\":[[1," SHA "]]}]" OKB,
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":9000000,\"chunks\":[[1," SHA "],[0," SHA
             "]]}]" OKB,
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":9000000,\"chunks\":[[1," SHA "],[1," SHA
             "]]}]" OKB,
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":4194304,\"chunks\":[[0,\"ABC\"]]}]" OKB,
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":4194304,\"chunks\":[[0]]}]" OKB,
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":4194304,\"chunks\":[[-1," SHA "]]}]" OKB,
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":4,\"chunks\":[[0," SHA "],[1," SHA "]]}]" OKB,
        /* chunk size */
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":3,"
             "\"files\":[{\"name\":\"mem\",\"size\":0,\"chunks\":[]}]" OKB,
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194305,"
             "\"files\":[{\"name\":\"mem\",\"size\":0,\"chunks\":[]}]" OKB,
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":134217728,"
             "\"files\":[{\"name\":\"mem\",\"size\":0,\"chunks\":[]}]" OKB,
        /* meta */
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":0,\"chunks\":[]}],"
             "\"backing\":{\"kind\":\"none\",\"path\":\"\"},\"parent\":\"\"}",
        HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":0,\"chunks\":[]}],"
             "\"backing\":{\"kind\":\"none\",\"path\":\"\"},\"parent\":\"\",\"meta\":\"a\\u0000b\"}",
        HEAD "\"kind\":\"layer\",\"id\":\"a\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"data\",\"size\":0,\"chunks\":[]}]" OKB,
        /* duplicate keys */
        HEAD "\"kind\":\"snapshot\",\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,"
             "\"files\":[{\"name\":\"mem\",\"size\":0,\"chunks\":[]}]" OKB,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct snap_manifest m;
        const char *why = NULL;
        int r = snap_manifest_parse(bad[i], strlen(bad[i]), &m, &why);
        if (r != -EBADMSG)
            harness_fail(__FILE__, __LINE__, "case %zu: %d, want -EBADMSG", i, r);
        else
            CHECK(why && why[0]);
    }
    /* the good one these are mutations of */
    static const char good[] = HEAD "\"kind\":\"snapshot\",\"id\":\"a\",\"chunk_size\":4194304,"
                                    "\"files\":[{\"name\":\"mem\",\"size\":9000000,\"chunks\":[[0,"
                                    SHA "],[2," SHA "]]}]" OKB;
    struct snap_manifest m;
    const char *why = NULL;
    CHECK_EQ(snap_manifest_parse(good, strlen(good), &m, &why), 0);
    CHECK_EQ(snap_chunk_len(m.files[0].size, m.chunk_size, 2), 9000000 - 2 * 4194304);
    CHECK_EQ(snap_chunk_len(m.files[0].size, m.chunk_size, 3), 0);
    snap_manifest_release(&m);
    /* every truncation of the good text is refused, never read past */
    for (size_t n = 0; n < sizeof(good) - 1; n++) {
        char *cut = malloc(n ? n : 1);
        NEED(cut);
        memcpy(cut, good, n);
        CHECK_EQ(snap_manifest_parse(cut, n, &m, &why), -EBADMSG);
        free(cut);
    }
}

TEST(rel_ok)
{
    static const struct { const char *rel; bool ok; } cases[] = {
        { "snapshots/sb-1/01J", true }, { "golden/k.tmp/disk.qcow2", true },
        { "a", true }, { "", false }, { "/a", false }, { "a/", false }, { "a//b", false },
        { "a/./b", false }, { "a/../b", false }, { "..", false }, { "a b", false },
        { "a\\b", false }, { "a\nb", false }, { "ä", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (snap_rel_ok(cases[i].rel) != cases[i].ok)
            harness_fail(__FILE__, __LINE__, "'%s': want %d", cases[i].rel, cases[i].ok);
    char long_rel[SNAP_REL_SIZE + 1];
    memset(long_rel, 'a', sizeof(long_rel) - 1);
    long_rel[SNAP_REL_SIZE] = '\0';
    CHECK(!snap_rel_ok(long_rel));
}

TEST(chunks)
{
    size_t n = 1u << 20;
    uint8_t *p = calloc(1, n), *out = malloc(n);
    NEED(p && out);
    CHECK(snap_chunk_is_zero(p, n));
    CHECK(snap_chunk_is_zero(p + 3, n - 5));
    p[n - 1] = 1;
    CHECK(!snap_chunk_is_zero(p, n));
    CHECK(!snap_chunk_is_zero(p + 1, n - 1));
    p[n - 1] = 0;
    p[5] = 7;
    CHECK(!snap_chunk_is_zero(p, n));
    for (size_t i = 0; i < n; i += 4096)
        p[i] = (uint8_t)(i >> 12);
    uint8_t *z;
    size_t zlen, got;
    NEED(snap_chunk_compress(p, n, &z, &zlen) == 0);
    CHECK(zlen < n / 4);
    CHECK_EQ(snap_chunk_decompress(z, zlen, out, n, &got), 0);
    CHECK_EQ(got, n);
    CHECK(memcmp(p, out, n) == 0);
    /* a frame bigger than the room it may fill, and garbage */
    CHECK_EQ(snap_chunk_decompress(z, zlen, out, n - 1, &got), -EBADMSG);
    CHECK_EQ(snap_chunk_decompress(z, zlen / 2, out, n, &got), -EBADMSG);
    CHECK_EQ(snap_chunk_decompress("hello", 5, out, n, &got), -EBADMSG);
    char a[SNAP_SHA_HEX], b[SNAP_SHA_HEX], key[SNAP_CHUNK_KEY_SIZE];
    CHECK(snap_sha256_hex("abc", 3, a));
    CHECK_STR(a, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(snap_sha_hex_ok(a));
    CHECK(snap_sha256_hex(p, n, b));
    CHECK(strcmp(a, b) != 0);
    CHECK(!snap_sha_hex_ok("ABC"));
    CHECK(!snap_sha_hex_ok("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
    snap_chunk_key(a, key);
    CHECK_STR(key, "chunks/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    free(z);
    free(p);
    free(out);
}

TEST(qcow2_backing)
{
    uint8_t h[512] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
    char out[64];
    CHECK_EQ(snap_qcow2_backing_parse(h, sizeof(h), out, sizeof(out)), 0);
    CHECK_STR(out, ""); /* offset 0: no backing file */
    const char *name = "/var/lib/hearth/golden/k/disk.qcow2";
    h[15] = 200;         /* offset 200 */
    h[19] = (uint8_t)strlen(name);
    memcpy(h + 200, name, strlen(name));
    CHECK_EQ(snap_qcow2_backing_parse(h, sizeof(h), out, sizeof(out)), 0);
    CHECK_STR(out, name);
    CHECK_EQ(snap_qcow2_backing_parse(h, sizeof(h), out, 10), -ENAMETOOLONG);
    CHECK_EQ(snap_qcow2_backing_parse(h, 210, out, sizeof(out)), -EBADMSG); /* past the end */
    h[19] = 0;
    CHECK_EQ(snap_qcow2_backing_parse(h, sizeof(h), out, sizeof(out)), -EBADMSG);
    h[19] = 40;
    h[205] = 0; /* a NUL inside the name */
    CHECK_EQ(snap_qcow2_backing_parse(h, sizeof(h), out, sizeof(out)), -EBADMSG);
    h[8] = 0xff; /* an offset near 2^64 */
    CHECK_EQ(snap_qcow2_backing_parse(h, sizeof(h), out, sizeof(out)), -EBADMSG);
    h[0] = 'X';
    CHECK_EQ(snap_qcow2_backing_parse(h, sizeof(h), out, sizeof(out)), -EBADMSG);
    CHECK_EQ(snap_qcow2_backing_parse(h, 4, out, sizeof(out)), -EBADMSG);
}
