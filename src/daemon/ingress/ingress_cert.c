/* SPDX-License-Identifier: MIT */
/* ingress_cert.c: the ingress TLS certificate (ingress_cert.h): PEM chain and key loaded and
 * matched with OpenSSL, the self-signed wildcard generated once and kept under
 * <data_dir>/ingress/, and the reload that swaps a changed pair into the live context. */
#include "daemon/ingress/ingress_cert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/fdio.h"
#include "common/herr.h"
#include "daemon/log.h"

/* What identifies a version of a file for the reload: replaced or rewritten, it differs. */
struct file_sig {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct ingress_cert {
    SSL_CTX *ctx;
    char *cert_file, *key_file; /* the operator's, or the self-signed pair's paths */
    char *domain;
    bool self;
    struct file_sig cert_sig, key_sig;
    time_t not_after;
    struct event *watch;
};

/* A loaded pair, checked: the leaf matches the key. */
struct pair {
    X509 *leaf;
    STACK_OF(X509) *chain;
    EVP_PKEY *key;
};

static void pair_release(struct pair *p)
{
    X509_free(p->leaf);
    sk_X509_pop_free(p->chain, X509_free);
    EVP_PKEY_free(p->key);
    *p = (struct pair){ 0 };
}

/* OpenSSL's reason for the last failure, for a message; clears its error queue. */
static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r ? r : "not PEM";
}

static int file_sig_get(const char *path, struct file_sig *s)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    *s = (struct file_sig){ st.st_dev, st.st_ino, st.st_size, st.st_mtim };
    return 0;
}

static bool file_sig_eq(const struct file_sig *a, const struct file_sig *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Opens path for the PEM reader into *ret; on failure err names what the file should hold. */
static int pem_open(const char *path, const char *what, BIO **ret, struct herr *err)
{
    errno = 0;
    *ret = BIO_new_file(path, "r");
    if (*ret)
        return 0;
    int e = errno ? -errno : -EIO;
    ERR_clear_error();
    return herr_set(err, e, "cannot read the %s file '%s': %s", what, path, strerror(-e));
}

static int read_chain(const char *path, struct pair *p, struct herr *err)
{
    BIO *b;
    int r = pem_open(path, "certificate", &b, err);
    if (r < 0)
        return r;
    p->leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
    if (!p->leaf) {
        BIO_free(b);
        return herr_set(err, -EINVAL, "no PEM certificate in '%s' (%s)", path, ssl_reason());
    }
    p->chain = sk_X509_new_null();
    X509 *x;
    while (p->chain && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(p->chain, x)) {
            X509_free(x);
            break;
        }
    }
    /* the loop ends at the end of the file: "no start line" is that, anything else is not */
    unsigned long e = ERR_peek_last_error();
    bool eof = ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
    BIO_free(b);
    if (!p->chain || (e && !eof))
        return herr_set(err, -EINVAL, "a malformed certificate in the chain in '%s' (%s)", path,
                        ssl_reason());
    ERR_clear_error();
    return 0;
}

static int read_key(const char *path, struct pair *p, struct herr *err)
{
    BIO *b;
    int r = pem_open(path, "key", &b, err);
    if (r < 0)
        return r;
    p->key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    if (!p->key)
        return herr_set(err, -EINVAL, "no unencrypted PEM private key in '%s' (%s)", path,
                        ssl_reason());
    return 0;
}

/* Loads and checks a pair: both parse, the key is the leaf's, the leaf has not expired. */
static int pair_load(const char *cert, const char *key, struct pair *p, struct herr *err)
{
    int r = read_chain(cert, p, err);
    if (r == 0)
        r = read_key(key, p, err);
    if (r == 0 && X509_check_private_key(p->leaf, p->key) != 1) {
        ERR_clear_error();
        r = herr_set(err, -EINVAL, "the key in '%s' does not match the certificate in '%s'",
                     key, cert);
    }
    if (r == 0 && X509_cmp_current_time(X509_get0_notAfter(p->leaf)) <= 0)
        r = herr_set(err, -EKEYEXPIRED, "the certificate in '%s' has expired", cert);
    if (r < 0)
        pair_release(p);
    return r;
}

static time_t pair_not_after(const struct pair *p)
{
    struct tm tm;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(p->leaf), &tm) != 1)
        return 0;
    return timegm(&tm);
}

/* Puts the pair into ctx (replacing what was there). */
static int pair_apply(SSL_CTX *ctx, const struct pair *p, struct herr *err)
{
    if (SSL_CTX_use_cert_and_key(ctx, p->leaf, p->key, p->chain, 1) != 1)
        return herr_set(err, -EINVAL, "OpenSSL refused the certificate: %s", ssl_reason());
    return 0;
}

/* ---- the self-signed wildcard ---- */

/* True when the certificate covers exactly the ingress domain: the domain itself and a name
 * one label below it (a wildcard for a parent domain matches the first but not the second). */
static bool covers_domain(X509 *x, const char *domain)
{
    char sub[300];
    snprintf(sub, sizeof(sub), "x.%s", domain);
    unsigned fl = X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS;
    return X509_check_host(x, domain, 0, fl, NULL) == 1 &&
           X509_check_host(x, sub, 0, fl, NULL) == 1;
}

static int add_dns(GENERAL_NAMES *names, const char *fmt, const char *domain)
{
    char v[300];
    snprintf(v, sizeof(v), fmt, domain);
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();
    if (!g || !s || ASN1_STRING_set(s, v, -1) != 1) {
        GENERAL_NAME_free(g);
        ASN1_IA5STRING_free(s);
        return -ENOMEM;
    }
    GENERAL_NAME_set0_value(g, GEN_DNS, s);
    if (!sk_GENERAL_NAME_push(names, g)) {
        GENERAL_NAME_free(g);
        return -ENOMEM;
    }
    return 0;
}

static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    int ok = e && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok ? 0 : -ENOMEM;
}

/* A fresh P-256 key and a self-signed certificate for *.<domain> and <domain>: random 127-bit
 * serial, valid from an hour ago (clock skew) for INGRESS_CERT_DAYS, a server leaf (not a CA).
 * The SANs are built as values, never from a config string, so no domain can add a name. */
static int self_generate(const char *domain, struct pair *p, struct herr *err)
{
    p->key = EVP_EC_gen("P-256");
    p->leaf = X509_new();
    p->chain = sk_X509_new_null();
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    BIGNUM *serial = BN_new();
    int r = p->key && p->leaf && p->chain && names && serial ? 0 : -ENOMEM;
    if (r == 0 && (X509_set_version(p->leaf, X509_VERSION_3) != 1 ||
                   BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
                   !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(p->leaf)) ||
                   !X509_gmtime_adj(X509_getm_notBefore(p->leaf), -3600) ||
                   !X509_gmtime_adj(X509_getm_notAfter(p->leaf), INGRESS_CERT_DAYS * 86400L) ||
                   X509_set_pubkey(p->leaf, p->key) != 1))
        r = -ENOMEM;
    X509_NAME *n = p->leaf ? X509_get_subject_name(p->leaf) : NULL;
    /* a CN holds at most 64 bytes; the SANs are what clients check anyway */
    if (r == 0 && X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                                             (const unsigned char *)"hearth ingress", -1, -1,
                                             0) != 1)
        r = -ENOMEM;
    if (r == 0 && strlen(domain) <= 64 &&
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)domain, -1,
                                   -1, 0) != 1)
        r = -ENOMEM;
    if (r == 0 && X509_set_issuer_name(p->leaf, n) != 1)
        r = -ENOMEM;
    if (r == 0)
        r = add_dns(names, "*.%s", domain);
    if (r == 0)
        r = add_dns(names, "%s", domain);
    if (r == 0 && X509_add1_ext_i2d(p->leaf, NID_subject_alt_name, names, 0, 0) != 1)
        r = -ENOMEM;
    if (r == 0)
        r = add_ext(p->leaf, NID_basic_constraints, "critical,CA:FALSE");
    if (r == 0)
        r = add_ext(p->leaf, NID_key_usage, "critical,digitalSignature");
    if (r == 0)
        r = add_ext(p->leaf, NID_ext_key_usage, "serverAuth");
    if (r == 0 && X509_sign(p->leaf, p->key, EVP_sha256()) <= 0)
        r = -ENOMEM;
    GENERAL_NAMES_free(names);
    BN_free(serial);
    if (r < 0) {
        pair_release(p);
        return herr_set(err, r, "cannot generate a certificate for '%s': %s", domain,
                        ssl_reason());
    }
    return 0;
}

/* Writes data to dir/name through a temporary file and rename(), so a crash leaves the old
 * file or the new one, never half of one; the directory is synced after the rename. */
static int write_atomic(const char *dir, const char *name, const void *data, size_t len,
                        mode_t mode)
{
    char tmp[4200], path[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    (void)unlink(tmp); /* (void): a leftover of a crash, or nothing */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return -errno;
    int r = fd_write_all(fd, data, len);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        (void)unlink(tmp); /* (void): best effort; the next start removes it too */
        return r;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd); /* (void): the files are complete either way */
        close(dfd);
    }
    return 0;
}

typedef int (*pem_write_fn)(BIO *b, const struct pair *p);

static int pem_key(BIO *b, const struct pair *p)
{
    return PEM_write_bio_PrivateKey(b, p->key, NULL, NULL, 0, NULL, NULL);
}

static int pem_cert(BIO *b, const struct pair *p)
{
    return PEM_write_bio_X509(b, p->leaf);
}

static int write_pem(const char *dir, const char *name, pem_write_fn fn, const struct pair *p,
                     mode_t mode)
{
    BIO *b = BIO_new(BIO_s_secmem()); /* the key's bytes are wiped when freed */
    if (!b || fn(b, p) != 1) {
        BIO_free(b);
        return -ENOMEM;
    }
    char *data;
    long len = BIO_get_mem_data(b, &data);
    int r = len > 0 ? write_atomic(dir, name, data, (size_t)len, mode) : -ENOMEM;
    BIO_free(b);
    return r;
}

/* Loads the kept self-signed pair if it still serves the domain for a while, else makes and
 * writes a new one (the key first: a certificate without its key is "unreadable" next time). */
static int self_load_or_make(struct ingress_cert *ic, struct pair *p, struct herr *err)
{
    struct herr ignored = { 0 };
    if (pair_load(ic->cert_file, ic->key_file, p, &ignored) == 0) {
        time_t left = pair_not_after(p) - time(NULL);
        if (covers_domain(p->leaf, ic->domain) && left > INGRESS_CERT_RENEW_DAYS * 86400L)
            return 0;
        log_info(NULL, "ingress certificate: making a new self-signed one",
                 "{s:s,s:s}", "domain", ic->domain, "why",
                 left <= INGRESS_CERT_RENEW_DAYS * 86400L ? "expiring" : "domain changed");
        pair_release(p);
    } else if (ignored.code != -ENOENT) {
        log_warn(NULL, "ingress certificate: the kept one is unusable, making a new one",
                 "{s:s}", "error", ignored.msg);
    }
    int r = self_generate(ic->domain, p, err);
    if (r < 0)
        return r;
    char dir[4200];
    snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(ic->cert_file, '/') - ic->cert_file),
             ic->cert_file);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        r = herr_set(err, -errno, "cannot create '%s': %s", dir, strerror(errno));
    if (r == 0 && (r = write_pem(dir, INGRESS_KEY_FILE, pem_key, p, 0600)) < 0)
        herr_set(err, r, "cannot write '%s': %s", ic->key_file, strerror(-r));
    if (r == 0 && (r = write_pem(dir, INGRESS_CERT_FILE, pem_cert, p, 0644)) < 0)
        herr_set(err, r, "cannot write '%s': %s", ic->cert_file, strerror(-r));
    if (r < 0)
        pair_release(p);
    return r;
}

/* ---- the object ---- */

/* Loads (or makes) the pair, puts it into the context and remembers the files' versions. */
static int load_into(struct ingress_cert *ic, struct herr *err)
{
    struct pair p = { 0 };
    int r = ic->self ? self_load_or_make(ic, &p, err)
                     : pair_load(ic->cert_file, ic->key_file, &p, err);
    if (r == 0)
        r = pair_apply(ic->ctx, &p, err);
    if (r == 0) {
        ic->not_after = pair_not_after(&p);
        /* (void)s: a file gone since the load shows as changed at the next check */
        (void)file_sig_get(ic->cert_file, &ic->cert_sig);
        (void)file_sig_get(ic->key_file, &ic->key_sig);
    }
    pair_release(&p);
    return r;
}

int ingress_cert_open(const struct ingress_cert_cfg *cfg, struct ingress_cert **ret,
                      struct herr *err)
{
    *ret = NULL;
    bool self = !cfg->cert_file || !cfg->cert_file[0];
    if (!self && (!cfg->key_file || !cfg->key_file[0]))
        return herr_set(err, -EINVAL, "ingress_tls_cert '%s' is set but ingress_tls_key is not",
                        cfg->cert_file);
    if (self && cfg->key_file && cfg->key_file[0])
        return herr_set(err, -EINVAL, "ingress_tls_key '%s' is set but ingress_tls_cert is not",
                        cfg->key_file);
    if (self && (!cfg->domain || !cfg->domain[0] || strlen(cfg->domain) > 253))
        return herr_set(err, -EINVAL, "a self-signed ingress certificate needs ingress_domain");
    if (self && (!cfg->data_dir || !cfg->data_dir[0]))
        return herr_set(err, -EINVAL, "a self-signed ingress certificate needs data_dir");
    struct ingress_cert *ic = calloc(1, sizeof(*ic));
    if (!ic)
        return herr_set(err, -ENOMEM, "out of memory");
    ic->self = self;
    ic->domain = strdup(cfg->domain ? cfg->domain : "");
    if (self) {
        if (asprintf(&ic->cert_file, "%s/%s/%s", cfg->data_dir, INGRESS_CERT_DIR,
                     INGRESS_CERT_FILE) < 0)
            ic->cert_file = NULL;
        if (asprintf(&ic->key_file, "%s/%s/%s", cfg->data_dir, INGRESS_CERT_DIR,
                     INGRESS_KEY_FILE) < 0)
            ic->key_file = NULL;
    } else {
        ic->cert_file = strdup(cfg->cert_file);
        ic->key_file = strdup(cfg->key_file);
    }
    ic->ctx = SSL_CTX_new(TLS_server_method());
    if (!ic->domain || !ic->cert_file || !ic->key_file || !ic->ctx) {
        ingress_cert_free(ic);
        return herr_set(err, -ENOMEM, "out of memory");
    }
    int r = load_into(ic, err);
    if (r < 0) {
        ingress_cert_free(ic);
        return r;
    }
    *ret = ic;
    return 0;
}

struct ssl_ctx_st *ingress_cert_ctx(const struct ingress_cert *ic)
{
    return ic->ctx;
}

bool ingress_cert_self_signed(const struct ingress_cert *ic)
{
    return ic->self;
}

int ingress_cert_reload(struct ingress_cert *ic, struct herr *err)
{
    if (ic->self) {
        if (ic->not_after - time(NULL) > INGRESS_CERT_RENEW_DAYS * 86400L)
            return 0;
    } else {
        struct file_sig c = { 0 }, k = { 0 };
        int rc = file_sig_get(ic->cert_file, &c), rk = file_sig_get(ic->key_file, &k);
        /* a file missing for a moment (an ACME client mid-rename) is not a change yet */
        if (rc < 0 || rk < 0)
            return herr_set(err, rc < 0 ? rc : rk, "cannot stat '%s'",
                            rc < 0 ? ic->cert_file : ic->key_file);
        if (file_sig_eq(&c, &ic->cert_sig) && file_sig_eq(&k, &ic->key_sig))
            return 0;
    }
    int r = load_into(ic, err);
    return r < 0 ? r : 1;
}

static void on_watch(evutil_socket_t fd, short what, void *ud)
{
    struct ingress_cert *ic = ud;
    struct herr err = { 0 };
    int r = ingress_cert_reload(ic, &err);
    if (r > 0)
        log_info(NULL, "ingress certificate reloaded", "{s:s}", "file", ic->cert_file);
    else if (r < 0)
        log_warn(NULL, "ingress certificate not reloaded; the previous one stays in use",
                 "{s:s}", "error", err.msg);
}

int ingress_cert_watch(struct ingress_cert *ic, struct event_base *base, unsigned interval_s)
{
    if (ic->watch)
        event_free(ic->watch);
    ic->watch = event_new(base, -1, EV_PERSIST, on_watch, ic);
    struct timeval tv = { .tv_sec = interval_s ? interval_s : 1 };
    if (!ic->watch || event_add(ic->watch, &tv) < 0)
        return -ENOMEM;
    return 0;
}

void ingress_cert_free(struct ingress_cert *ic)
{
    if (!ic)
        return;
    if (ic->watch)
        event_free(ic->watch);
    SSL_CTX_free(ic->ctx);
    free(ic->cert_file);
    free(ic->key_file);
    free(ic->domain);
    free(ic);
}
