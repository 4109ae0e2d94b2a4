/* SPDX-License-Identifier: MIT */
/* test_seal.c: the key ring of disk/seal.h: a sealed blob opens only with its aad and key,
 * any changed byte or any shorter length is refused, malformed or exposed key files are
 * refused, a missing one is created 0600, and a rotation keeps old blobs openable. */
#include "daemon/disk/seal.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct kdir {
    char dir[64];
    char path[128];
};

static void kdir_make(struct kdir *d)
{
    snprintf(d->dir, sizeof(d->dir), "/tmp/hearth-seal-XXXXXX");
    if (!mkdtemp(d->dir))
        harness_skip("mkdtemp: %s", strerror(errno));
    snprintf(d->path, sizeof(d->path), "%s/disk.key", d->dir);
}

static void kdir_clean(struct kdir *d)
{
    (void)unlink(d->path);
    (void)rmdir(d->dir);
}

/* Writes text as the key file with mode. */
static void put_file(const struct kdir *d, const char *text, mode_t mode)
{
    (void)unlink(d->path);
    int fd = open(d->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        harness_fail(__FILE__, __LINE__, "write key file");
    if (fd >= 0)
        close(fd);
    (void)chmod(d->path, mode);
}

#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" /* bytes 0..31 */
#define KEY_B "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=" /* bytes 32..63 */

TEST(seal_round_trip_and_tamper)
{
    struct kdir d;
    kdir_make(&d);
    put_file(&d, "# operator's key\nka " KEY_A "\n\nkb " KEY_B "\n", 0600);
    struct seal_keyring *k = NULL;
    const char *why = NULL;
    CHECK_EQ(seal_keyring_load(d.path, false, &k, &why), 0);
    CHECK_STR(seal_keyring_current(k), "ka");

    const char *plain = "{\"access_key\":\"AKIA\",\"secret_key\":\"s3cr3t\"}";
    size_t plen = strlen(plain);
    uint8_t blob[512], out[512], blob2[512];
    size_t blen, olen, blen2;
    CHECK_EQ(seal_seal(k, "disk_1", (const uint8_t *)plain, plen, blob, sizeof(blob), &blen), 0);
    CHECK(blen <= plen + SEAL_OVERHEAD);
    CHECK(memmem(blob, blen, "s3cr3t", 6) == NULL);
    CHECK(seal_is_current(k, blob, blen));
    CHECK_EQ(seal_open(k, "disk_1", blob, blen, out, sizeof(out), &olen), 0);
    CHECK_EQ(olen, plen);
    CHECK(memcmp(out, plain, plen) == 0);
    /* fresh nonce each time */
    CHECK_EQ(seal_seal(k, "disk_1", (const uint8_t *)plain, plen, blob2, sizeof(blob2), &blen2),
             0);
    CHECK(blen2 == blen && memcmp(blob, blob2, blen) != 0);

    CHECK_EQ(seal_open(k, "disk_2", blob, blen, out, sizeof(out), &olen), -EBADMSG);
    CHECK_EQ(seal_open(k, "", blob, blen, out, sizeof(out), &olen), -EBADMSG);
    for (size_t i = 0; i < blen; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            blob[i] ^= (uint8_t)(1u << bit);
            int r = seal_open(k, "disk_1", blob, blen, out, sizeof(out), &olen);
            blob[i] ^= (uint8_t)(1u << bit);
            /* a changed key id may name no key (-ENOKEY) or be malformed; never opens */
            if (r != -EBADMSG && r != -ENOKEY)
                harness_fail(__FILE__, __LINE__, "byte %zu bit %d: %d", i, bit, r);
        }
    }
    for (size_t n = 0; n < blen; n++)
        CHECK_EQ(seal_open(k, "disk_1", blob, n, out, sizeof(out), &olen), -EBADMSG);
    CHECK_EQ(seal_open(k, "disk_1", NULL, 0, out, sizeof(out), &olen), -EBADMSG);
    /* too small an output buffer, and one byte too long */
    CHECK_EQ(seal_open(k, "disk_1", blob, blen, out, plen - 1, &olen), -ENOBUFS);
    CHECK_EQ(seal_seal(k, "disk_1", (const uint8_t *)plain, plen, blob2, blen - 1, &blen2),
             -ENOBUFS);
    uint8_t longer[600];
    memcpy(longer, blob, blen);
    longer[blen] = 0;
    CHECK_EQ(seal_open(k, "disk_1", longer, blen + 1, out, sizeof(out), &olen), -EBADMSG);
    /* empty plaintext works */
    CHECK_EQ(seal_seal(k, "x", NULL, 0, blob2, sizeof(blob2), &blen2), 0);
    CHECK_EQ(seal_open(k, "x", blob2, blen2, out, sizeof(out), &olen), 0);
    CHECK_EQ(olen, 0);

    /* a ring without the sealing key: -ENOKEY */
    seal_keyring_free(k);
    put_file(&d, "kb " KEY_B "\n", 0600);
    CHECK_EQ(seal_keyring_load(d.path, false, &k, &why), 0);
    CHECK_EQ(seal_open(k, "disk_1", blob, blen, out, sizeof(out), &olen), -ENOKEY);
    CHECK(!seal_is_current(k, blob, blen));
    seal_keyring_free(k);
    kdir_clean(&d);
}

TEST(seal_malformed_key_files)
{
    static const struct {
        const char *text;
        int want;
    } cases[] = {
        { "", -EINVAL },
        { "# only a comment\n", -EINVAL },
        { "ka\n", -EINVAL },
        { "ka  " KEY_A "\n", -EINVAL },                           /* two spaces */
        { " ka " KEY_A "\n", -EINVAL },
        { "k!a " KEY_A "\n", -EINVAL },
        { "ka AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", -EINVAL }, /* no padding */
        { "ka AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh*=\n", -EINVAL }, /* bad base64 */
        { "ka AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==\n", -EINVAL },   /* 28 bytes */
        { "ka " KEY_A "AAAA\n", -EINVAL },                        /* 35 bytes */
        { "ka " KEY_A "\nka " KEY_B "\n", -EINVAL },              /* duplicate id */
        { "abcdefghijabcdefghijabcdefghijabc " KEY_A "\n", -EINVAL }, /* 33-byte id */
    };
    struct kdir d;
    kdir_make(&d);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        put_file(&d, cases[i].text, 0600);
        struct seal_keyring *k = NULL;
        const char *why = NULL;
        int r = seal_keyring_load(d.path, false, &k, &why);
        if (r != cases[i].want || k)
            harness_fail(__FILE__, __LINE__, "case %zu: %d (%s)", i, r, why ? why : "");
        CHECK(why && *why);
        seal_keyring_free(k);
    }
    /* CRLF and a trailing line without newline are fine */
    put_file(&d, "ka " KEY_A "\r\nkb " KEY_B, 0600);
    struct seal_keyring *k = NULL;
    const char *why = NULL;
    CHECK_EQ(seal_keyring_load(d.path, false, &k, &why), 0);
    seal_keyring_free(k);
    /* readable by group or others, or a symlink: refused */
    put_file(&d, "ka " KEY_A "\n", 0644);
    CHECK_EQ(seal_keyring_load(d.path, false, &k, &why), -EPERM);
    put_file(&d, "ka " KEY_A "\n", 0640);
    CHECK_EQ(seal_keyring_load(d.path, false, &k, &why), -EPERM);
    put_file(&d, "ka " KEY_A "\n", 0600);
    char link[160];
    snprintf(link, sizeof(link), "%s/link.key", d.dir);
    CHECK_EQ(symlink(d.path, link), 0);
    CHECK_EQ(seal_keyring_load(link, true, &k, &why), -EPERM);
    (void)unlink(link);
    CHECK_EQ(seal_keyring_load(d.dir, false, &k, &why), -EPERM); /* a directory */
    kdir_clean(&d);
    CHECK_EQ(seal_keyring_load(d.path, false, &k, &why), -ENOENT);
}

TEST(seal_create_and_rotate)
{
    struct kdir d;
    kdir_make(&d);
    struct seal_keyring *k = NULL;
    const char *why = NULL;
    CHECK_EQ(seal_keyring_load(d.path, true, &k, &why), 0);
    struct stat sb;
    CHECK_EQ(stat(d.path, &sb), 0);
    CHECK_EQ(sb.st_mode & 0777, 0600);
    char first[SEAL_KEY_ID_MAX + 1];
    snprintf(first, sizeof(first), "%s", seal_keyring_current(k));
    CHECK(strlen(first) > 0);
    uint8_t blob[256], out[256];
    size_t blen, olen;
    CHECK_EQ(seal_seal(k, "disk_a", (const uint8_t *)"hello", 5, blob, sizeof(blob), &blen), 0);
    seal_keyring_free(k);
    /* loading again with create keeps the same key */
    CHECK_EQ(seal_keyring_load(d.path, true, &k, &why), 0);
    CHECK_STR(seal_keyring_current(k), first);
    seal_keyring_free(k);

    char id[SEAL_KEY_ID_MAX + 1];
    CHECK_EQ(seal_keyring_add(d.path, id, &why), 0);
    CHECK(strcmp(id, first) != 0);
    CHECK_EQ(stat(d.path, &sb), 0);
    CHECK_EQ(sb.st_mode & 0777, 0600);
    CHECK_EQ(seal_keyring_load(d.path, false, &k, &why), 0);
    CHECK_STR(seal_keyring_current(k), id);
    CHECK(!seal_is_current(k, blob, blen));
    CHECK_EQ(seal_open(k, "disk_a", blob, blen, out, sizeof(out), &olen), 0);
    CHECK(olen == 5 && memcmp(out, "hello", 5) == 0);
    seal_keyring_free(k);
    /* an exposed file is not rotated either */
    CHECK_EQ(chmod(d.path, 0644), 0);
    CHECK_EQ(seal_keyring_add(d.path, id, &why), -EPERM);
    /* no leftover temporary files */
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", d.dir);
    CHECK_EQ(system(cmd), 0);
    kdir_clean(&d);
}
