/* SPDX-License-Identifier: MIT */
/* seal.c: the key ring of seal.h: loads and checks the operator's key file, creates it on first
 * start, adds a rotation key with an atomic rewrite, and seals/opens blobs with AES-256-GCM
 * (OpenSSL EVP). The blob's header (magic and key id) is authenticated along with the owner's
 * aad string, so no byte of a blob can change without the open failing. Keys are wiped with
 * OPENSSL_cleanse when freed and every buffer that held the file is wiped too. */
#include "daemon/disk/seal.h"

#include "common/b64.h"
#include "common/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define MAGIC "hs1"
#define MAGIC_LEN 3
#define MAX_KEYS 64
#define FILE_MAX 16384 /* 64 keys of at most 78 bytes, plus comments */

struct seal_key {
    char id[SEAL_KEY_ID_MAX + 1];
    uint8_t key[KEY_LEN];
};

struct seal_keyring {
    size_t n;
    struct seal_key keys[MAX_KEYS]; /* keys[0] seals */
};

static bool id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

/* Reads the key file into buf (FILE_MAX + 1 bytes), after the ownership and mode checks. */
static int read_file(const char *path, char *buf, size_t *ret_len, const char **why)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        *why = e == ENOENT ? "the key file does not exist"
               : e == ELOOP ? "the key file is a symbolic link"
                            : "cannot open the key file";
        return e == ELOOP ? -EPERM : -e;
    }
    struct stat sb;
    int r = fstat(fd, &sb) < 0 ? -errno : 0;
    if (r == 0 && !S_ISREG(sb.st_mode)) {
        *why = "the key file is not a regular file";
        r = -EPERM;
    } else if (r == 0 && sb.st_uid != geteuid()) {
        *why = "the key file belongs to another user";
        r = -EPERM;
    } else if (r == 0 && (sb.st_mode & 077)) {
        *why = "the key file may be read by group or others (chmod 600 it)";
        r = -EPERM;
    } else if (r == 0 && sb.st_size > FILE_MAX) {
        *why = "the key file is too large";
        r = -EINVAL;
    }
    ssize_t n = 0;
    if (r == 0 && (n = fd_read_full(fd, buf, FILE_MAX + 1)) < 0) {
        *why = "cannot read the key file";
        r = (int)n;
    }
    if (r == 0 && n > FILE_MAX) {
        *why = "the key file is too large";
        r = -EINVAL;
    }
    close(fd);
    if (r == 0) {
        buf[n] = '\0';
        *ret_len = (size_t)n;
    }
    return r;
}

/* Parses one "<id> <base64>" line into k. */
static int parse_line(const char *line, size_t len, struct seal_key *k, const char **why)
{
    size_t i = 0;
    while (i < len && id_char(line[i]))
        i++;
    if (i == 0 || i > SEAL_KEY_ID_MAX || i >= len || line[i] != ' ') {
        *why = "a key line is not '<id> <base64 key>' (id: 1-32 of [A-Za-z0-9_-])";
        return -EINVAL;
    }
    memcpy(k->id, line, i);
    k->id[i] = '\0';
    const char *b = line + i + 1;
    size_t blen = len - i - 1;
    while (blen > 0 && (b[blen - 1] == ' ' || b[blen - 1] == '\t' || b[blen - 1] == '\r'))
        blen--;
    uint8_t raw[B64_DEC_MAX(64)];
    if (blen != B64_ENC_LEN(KEY_LEN)) {
        *why = "a key is not 32 bytes of base64";
        return -EINVAL;
    }
    ssize_t n = b64_decode(b, blen, raw);
    if (n != KEY_LEN) {
        OPENSSL_cleanse(raw, sizeof(raw));
        *why = n < 0 ? "a key is not valid base64" : "a key is not 32 bytes of base64";
        return -EINVAL;
    }
    memcpy(k->key, raw, KEY_LEN);
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

/* Parses the file's text: keys in order, '#' comments and blank lines skipped. */
static int parse_text(const char *text, size_t len, struct seal_keyring *k, const char **why)
{
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        const char *line = text + pos;
        size_t llen = end - pos;
        pos = end + 1;
        if (llen == 0 || line[0] == '#' || (llen == 1 && line[0] == '\r'))
            continue;
        if (memchr(line, '\0', llen)) {
            *why = "the key file holds a NUL byte";
            return -EINVAL;
        }
        if (k->n == MAX_KEYS) {
            *why = "the key file holds more than 64 keys";
            return -EINVAL;
        }
        struct seal_key *key = &k->keys[k->n];
        int r = parse_line(line, llen, key, why);
        if (r < 0)
            return r;
        for (size_t j = 0; j < k->n; j++)
            if (strcmp(k->keys[j].id, key->id) == 0) {
                *why = "two keys in the key file have the same id";
                return -EINVAL;
            }
        k->n++;
    }
    if (k->n == 0) {
        *why = "the key file holds no key";
        return -EINVAL;
    }
    return 0;
}

/* A fresh key line "<id> <base64>\n" into out (at least 128 bytes); *ret_id gets the id. */
static int new_key_line(char *out, size_t cap, char ret_id[SEAL_KEY_ID_MAX + 1])
{
    uint8_t raw[KEY_LEN + 6];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -EIO;
    /* the id is the date plus random bits: readable in logs, unique across rotations */
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char id[96];
    snprintf(id, sizeof(id), "k%04d%02d%02d-%02x%02x%02x%02x%02x%02x", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, raw[32], raw[33], raw[34], raw[35], raw[36], raw[37]);
    snprintf(ret_id, SEAL_KEY_ID_MAX + 1, "%.32s", id); /* 22 bytes until the year 10000 */
    char b64[B64_ENC_LEN(KEY_LEN) + 1];
    b64_encode(raw, KEY_LEN, b64);
    int n = snprintf(out, cap, "%s %s\n", ret_id, b64);
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(b64, sizeof(b64));
    return n > 0 && (size_t)n < cap ? n : -ENOBUFS;
}

/* Writes the key file atomically (fdio.h), 0600. */
static int write_atomic(const char *path, const char *text, size_t len, const char **why)
{
    int r = file_write_atomic(path, text, len, 0600);
    if (r < 0)
        *why = "cannot write the key file (is its directory there and writable?)";
    return r;
}

int seal_keyring_load(const char *path, bool create, struct seal_keyring **ret, const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    *why = "";
    if (!path || !*path || !ret) {
        *why = "no key file path";
        return -EINVAL;
    }
    char *buf = malloc(FILE_MAX + 1);
    struct seal_keyring *k = calloc(1, sizeof(*k));
    if (!buf || !k) {
        free(buf);
        free(k);
        *why = "out of memory";
        return -ENOMEM;
    }
    size_t len = 0;
    int r = read_file(path, buf, &len, why);
    if (r == -ENOENT && create) {
        char id[SEAL_KEY_ID_MAX + 1];
        int n = new_key_line(buf, FILE_MAX + 1, id);
        r = n < 0 ? n : write_atomic(path, buf, (size_t)n, why);
        if (n < 0)
            *why = "no random bytes for a key";
        if (r == 0) {
            OPENSSL_cleanse(buf, (size_t)n);
            r = read_file(path, buf, &len, why); /* read back: the checks apply to it too */
        }
    }
    if (r == 0)
        r = parse_text(buf, len, k, why);
    OPENSSL_cleanse(buf, FILE_MAX + 1);
    free(buf);
    if (r < 0) {
        seal_keyring_free(k);
        return r;
    }
    *ret = k;
    return 0;
}

void seal_keyring_free(struct seal_keyring *k)
{
    if (!k)
        return;
    OPENSSL_cleanse(k, sizeof(*k));
    free(k);
}

const char *seal_keyring_current(const struct seal_keyring *k)
{
    return k && k->n ? k->keys[0].id : "";
}

int seal_keyring_add(const char *path, char ret_id[SEAL_KEY_ID_MAX + 1], const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    *why = "";
    struct seal_keyring *k;
    /* the existing file must pass every check before it is rewritten */
    int r = seal_keyring_load(path, false, &k, why);
    if (r < 0)
        return r;
    size_t cap = FILE_MAX + 256;
    char *buf = malloc(cap);
    if (!buf) {
        seal_keyring_free(k);
        *why = "out of memory";
        return -ENOMEM;
    }
    int n = new_key_line(buf, cap, ret_id);
    for (size_t i = 0; n > 0 && i < k->n; i++)
        if (strcmp(k->keys[i].id, ret_id) == 0)
            n = -EEXIST; /* one chance in 2^48; the operator runs it again */
    seal_keyring_free(k);
    size_t len = 0;
    r = n < 0 ? n : 0;
    if (r < 0)
        *why = "cannot make a new key";
    else
        r = read_file(path, buf + n, &len, why); /* the old text follows, comments and all */
    if (r == 0 && (size_t)n + len > FILE_MAX) {
        *why = "the key file would grow too large (remove old keys first)";
        r = -EFBIG;
    }
    if (r == 0)
        r = write_atomic(path, buf, (size_t)n + len, why);
    OPENSSL_cleanse(buf, cap);
    free(buf);
    return r;
}

/* Feeds the authenticated data: the blob's header, then the owner's aad string. */
static bool feed_aad(EVP_CIPHER_CTX *c, bool enc, const uint8_t *hdr, size_t hlen,
                     const char *aad)
{
    int outl;
    size_t alen = strlen(aad);
    if (enc)
        return EVP_EncryptUpdate(c, NULL, &outl, hdr, (int)hlen) == 1 &&
               (alen == 0 || EVP_EncryptUpdate(c, NULL, &outl, (const uint8_t *)aad,
                                               (int)alen) == 1);
    return EVP_DecryptUpdate(c, NULL, &outl, hdr, (int)hlen) == 1 &&
           (alen == 0 || EVP_DecryptUpdate(c, NULL, &outl, (const uint8_t *)aad, (int)alen) == 1);
}

int seal_seal(const struct seal_keyring *k, const char *aad, const uint8_t *plain, size_t len,
              uint8_t *out, size_t cap, size_t *ret_len)
{
    if (!k || !k->n || !aad || (!plain && len) || !out || !ret_len || len > INT_MAX / 2)
        return -EINVAL;
    const struct seal_key *key = &k->keys[0];
    size_t idlen = strlen(key->id);
    size_t hlen = MAGIC_LEN + 1 + idlen;
    size_t total = hlen + NONCE_LEN + len + TAG_LEN;
    if (total > cap)
        return -ENOBUFS;
    memcpy(out, MAGIC, MAGIC_LEN);
    out[MAGIC_LEN] = (uint8_t)idlen;
    memcpy(out + MAGIC_LEN + 1, key->id, idlen);
    uint8_t *nonce = out + hlen;
    if (RAND_bytes(nonce, NONCE_LEN) != 1)
        return -EIO;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0, fin = 0;
    bool ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
              EVP_EncryptInit_ex(c, NULL, NULL, key->key, nonce) == 1 &&
              feed_aad(c, true, out, hlen, aad) &&
              (len == 0 || EVP_EncryptUpdate(c, nonce + NONCE_LEN, &outl, plain, (int)len) == 1) &&
              EVP_EncryptFinal_ex(c, nonce + NONCE_LEN + outl, &fin) == 1 &&
              (size_t)(outl + fin) == len &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, nonce + NONCE_LEN + len) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        OPENSSL_cleanse(out, total);
        return -EIO;
    }
    *ret_len = total;
    return 0;
}

/* Splits a blob: its header length and key id; false when it is malformed. */
static bool parse_blob(const uint8_t *b, size_t len, size_t *ret_hlen, char id[SEAL_KEY_ID_MAX + 1])
{
    if (!b || len < MAGIC_LEN + 1 || memcmp(b, MAGIC, MAGIC_LEN) != 0)
        return false;
    size_t idlen = b[MAGIC_LEN];
    if (idlen == 0 || idlen > SEAL_KEY_ID_MAX)
        return false;
    size_t hlen = MAGIC_LEN + 1 + idlen;
    if (len < hlen + NONCE_LEN + TAG_LEN)
        return false;
    for (size_t i = 0; i < idlen; i++)
        if (!id_char((char)b[MAGIC_LEN + 1 + i]))
            return false;
    memcpy(id, b + MAGIC_LEN + 1, idlen);
    id[idlen] = '\0';
    *ret_hlen = hlen;
    return true;
}

static const struct seal_key *find_key(const struct seal_keyring *k, const char *id)
{
    for (size_t i = 0; k && i < k->n; i++)
        if (strcmp(k->keys[i].id, id) == 0)
            return &k->keys[i];
    return NULL;
}

int seal_open(const struct seal_keyring *k, const char *aad, const uint8_t *sealed, size_t len,
              uint8_t *out, size_t cap, size_t *ret_len)
{
    if (!k || !aad || !out || !ret_len || len > INT_MAX / 2)
        return -EINVAL;
    size_t hlen;
    char id[SEAL_KEY_ID_MAX + 1];
    if (!parse_blob(sealed, len, &hlen, id))
        return -EBADMSG;
    const struct seal_key *key = find_key(k, id);
    if (!key)
        return -ENOKEY;
    const uint8_t *nonce = sealed + hlen;
    const uint8_t *ct = nonce + NONCE_LEN;
    size_t clen = len - hlen - NONCE_LEN - TAG_LEN;
    if (clen > cap)
        return -ENOBUFS;
    uint8_t tag[TAG_LEN];
    memcpy(tag, ct + clen, TAG_LEN); /* the ctrl below takes a non-const pointer */
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0, fin = 0;
    bool ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
              EVP_DecryptInit_ex(c, NULL, NULL, key->key, nonce) == 1 &&
              feed_aad(c, false, sealed, hlen, aad) &&
              (clen == 0 || EVP_DecryptUpdate(c, out, &outl, ct, (int)clen) == 1) &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
              EVP_DecryptFinal_ex(c, out + outl, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        OPENSSL_cleanse(out, clen);
        return -EBADMSG;
    }
    *ret_len = (size_t)(outl + fin);
    return 0;
}

bool seal_is_current(const struct seal_keyring *k, const uint8_t *sealed, size_t len)
{
    size_t hlen;
    char id[SEAL_KEY_ID_MAX + 1];
    return k && k->n && parse_blob(sealed, len, &hlen, id) && strcmp(id, k->keys[0].id) == 0;
}
