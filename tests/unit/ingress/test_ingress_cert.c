/* SPDX-License-Identifier: MIT */
/* test_ingress_cert.c: the ingress certificate (ingress/ingress_cert.h): the self-signed
 * wildcard generated once (SANs, key type, file modes), kept across restarts, made again for a
 * new domain, an unreadable or expiring kept pair; the operator's PEM files with a chain,
 * a key of another certificate, garbage, missing files, an expired certificate; and the
 * reload that swaps a changed pair in and keeps the old one when the new one is bad, and its
 * timer on a loop. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/herr.h"
#include "daemon/ingress/ingress_cert.h"
#include "daemon/log.h"
#include "harness.h"

static char dir[64];

/* Test set-up that cannot go on when it fails. */
#define MUST(cond)                                                                               \
    do {                                                                                         \
        if (!(cond))                                                                             \
            harness_skip("set-up failed: %s", #cond);                                            \
    } while (0)

static void fresh_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/hearth-icert-XXXXXX");
    MUST(mkdtemp(dir) != NULL);
    int fd = open("/dev/null", O_WRONLY);
    log_set_fd(fd); /* the regeneration notices are expected here */
}

static void rm_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    MUST(system(cmd) == 0);
}

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static void write_text(const char *name, const char *text)
{
    char p[128];
    path_of(p, sizeof(p), name);
    FILE *f = fopen(p, "w");
    MUST(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

/* A test certificate: CN, validity in days from now (negative: already expired), signed by
 * issuer_key (NULL: self-signed). The key and certificate are written as PEM files. */
static X509 *make_cert(const char *cn, long days, EVP_PKEY **ret_key, EVP_PKEY *issuer_key,
                       const char *cert_name, const char *key_name)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    MUST(key && x);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(random() & 0xffffff) + 1);
    X509_gmtime_adj(X509_getm_notBefore(x), days < 0 ? (days - 2) * 86400L : -60);
    X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L);
    X509_set_pubkey(x, key);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    MUST(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    char p[128];
    if (cert_name) {
        path_of(p, sizeof(p), cert_name);
        FILE *f = fopen(p, "w");
        MUST(f && PEM_write_X509(f, x) == 1 && fclose(f) == 0);
    }
    if (key_name) {
        path_of(p, sizeof(p), key_name);
        FILE *f = fopen(p, "w");
        MUST(f && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1 &&
                fclose(f) == 0);
    }
    if (ret_key)
        *ret_key = key;
    else
        EVP_PKEY_free(key);
    return x;
}

static int open_self(const char *domain, struct ingress_cert **ic, struct herr *err)
{
    struct ingress_cert_cfg cfg = { .data_dir = dir, .domain = domain };
    herr_clear(err);
    return ingress_cert_open(&cfg, ic, err);
}

static int open_files(const char *cert, const char *key, struct ingress_cert **ic,
                      struct herr *err)
{
    char c[128], k[128];
    path_of(c, sizeof(c), cert);
    path_of(k, sizeof(k), key);
    struct ingress_cert_cfg cfg = { .cert_file = c, .key_file = k, .data_dir = dir };
    herr_clear(err);
    return ingress_cert_open(&cfg, ic, err);
}

/* The serial of the certificate the context serves, as hex (static buffer). */
static const char *ctx_serial(struct ingress_cert *ic)
{
    static char out[128];
    X509 *x = SSL_CTX_get0_certificate(ingress_cert_ctx(ic));
    MUST(x);
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = BN_bn2hex(bn);
    snprintf(out, sizeof(out), "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
    return out;
}

static bool ctx_has_cn(struct ingress_cert *ic, const char *cn)
{
    X509 *x = SSL_CTX_get0_certificate(ingress_cert_ctx(ic));
    return x && X509_check_host(x, cn, 0, 0, NULL) == 1;
}

TEST(self_signed_generated_with_wildcard_p256_and_private_key)
{
    fresh_dir();
    struct ingress_cert *ic;
    struct herr err;
    CHECK_EQ(open_self("sb.example.test", &ic, &err), 0);
    CHECK(ingress_cert_self_signed(ic));
    X509 *x = SSL_CTX_get0_certificate(ingress_cert_ctx(ic));
    CHECK(x != NULL);
    /* SANs: exactly the wildcard and the domain, checked as a client would */
    CHECK_EQ(X509_check_host(x, "3000-web.sb.example.test", 0, 0, NULL), 1);
    CHECK_EQ(X509_check_host(x, "sb.example.test", 0, 0, NULL), 1);
    CHECK_EQ(X509_check_host(x, "a.b.sb.example.test", 0, 0, NULL), 0);
    CHECK_EQ(X509_check_host(x, "other.test", 0, 0, NULL), 0);
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    CHECK(names != NULL);
    CHECK_EQ(sk_GENERAL_NAME_num(names), 2);
    GENERAL_NAMES_free(names);
    EVP_PKEY *pub = X509_get0_pubkey(x);
    CHECK_EQ(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
    char group[64] = "";
    EVP_PKEY_get_group_name(pub, group, sizeof(group), NULL);
    CHECK_STR(group, "prime256v1");
    /* valid now, for about INGRESS_CERT_DAYS, and not a CA */
    int days = 0, secs = 0;
    CHECK_EQ(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)), 1);
    CHECK(days >= INGRESS_CERT_DAYS - 1 && days <= INGRESS_CERT_DAYS);
    CHECK_EQ(X509_check_ca(x), 0);
    CHECK(strcmp(ctx_serial(ic), "0") != 0);
    /* the files: key 0600 in a 0700 directory, no temporary left over */
    char p[128];
    struct stat st;
    path_of(p, sizeof(p), INGRESS_CERT_DIR "/" INGRESS_KEY_FILE);
    CHECK_EQ(stat(p, &st), 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    path_of(p, sizeof(p), INGRESS_CERT_DIR);
    CHECK_EQ(stat(p, &st), 0);
    CHECK_EQ(st.st_mode & 0777, 0700);
    path_of(p, sizeof(p), INGRESS_CERT_DIR "/." INGRESS_KEY_FILE ".tmp");
    CHECK(access(p, F_OK) < 0);
    ingress_cert_free(ic);
    rm_dir();
}

TEST(self_signed_kept_across_restarts_and_remade_for_new_domain)
{
    fresh_dir();
    struct ingress_cert *ic;
    struct herr err;
    CHECK_EQ(open_self("sb.example.test", &ic, &err), 0);
    char first[128];
    snprintf(first, sizeof(first), "%s", ctx_serial(ic));
    ingress_cert_free(ic);
    /* a restart: the same certificate */
    CHECK_EQ(open_self("sb.example.test", &ic, &err), 0);
    CHECK_STR(ctx_serial(ic), first);
    /* nothing to reload while it is far from expiry */
    CHECK_EQ(ingress_cert_reload(ic, &err), 0);
    ingress_cert_free(ic);
    /* a parent domain: its wildcard would match the name but not the names below it */
    CHECK_EQ(open_self("example.test", &ic, &err), 0);
    CHECK(strcmp(ctx_serial(ic), first) != 0);
    CHECK(ctx_has_cn(ic, "1-a.example.test"));
    char second[128];
    snprintf(second, sizeof(second), "%s", ctx_serial(ic));
    ingress_cert_free(ic);
    CHECK_EQ(open_self("sb.example.test", &ic, &err), 0);
    CHECK(strcmp(ctx_serial(ic), second) != 0);
    CHECK(ctx_has_cn(ic, "1-a.sb.example.test"));
    ingress_cert_free(ic);
    rm_dir();
}

TEST(self_signed_remade_when_kept_pair_is_unusable_or_expiring)
{
    fresh_dir();
    struct ingress_cert *ic;
    struct herr err;
    CHECK_EQ(open_self("sb.example.test", &ic, &err), 0);
    ingress_cert_free(ic);
    /* garbage in the certificate file */
    write_text(INGRESS_CERT_DIR "/" INGRESS_CERT_FILE, "-----BEGIN CERTIFICATE-----\nxx\n");
    CHECK_EQ(open_self("sb.example.test", &ic, &err), 0);
    CHECK(ctx_has_cn(ic, "x.sb.example.test"));
    ingress_cert_free(ic);
    /* the key of another certificate */
    X509 *other = make_cert("sb.example.test", 100, NULL, NULL, NULL,
                            INGRESS_CERT_DIR "/" INGRESS_KEY_FILE);
    X509_free(other);
    CHECK_EQ(open_self("sb.example.test", &ic, &err), 0);
    ingress_cert_free(ic);
    /* a kept certificate for the domain with only 10 days left */
    X509 *soon = make_cert("*.sb.example.test", 10, NULL, NULL,
                           INGRESS_CERT_DIR "/" INGRESS_CERT_FILE,
                           INGRESS_CERT_DIR "/" INGRESS_KEY_FILE);
    X509_free(soon);
    CHECK_EQ(open_self("sb.example.test", &ic, &err), 0);
    int days = 0, secs = 0;
    ASN1_TIME_diff(&days, &secs, NULL,
                   X509_get0_notAfter(SSL_CTX_get0_certificate(ingress_cert_ctx(ic))));
    CHECK(days > 300);
    ingress_cert_free(ic);
    rm_dir();
}

TEST(self_signed_needs_domain_and_a_writable_dir)
{
    fresh_dir();
    struct ingress_cert *ic = (void *)1;
    struct herr err;
    CHECK_EQ(open_self("", &ic, &err), -EINVAL);
    CHECK(ic == NULL);
    CHECK(strstr(err.msg, "ingress_domain") != NULL);
    /* data_dir/ingress is a file: a clear error, nothing half-made */
    write_text(INGRESS_CERT_DIR, "not a directory");
    CHECK(open_self("sb.example.test", &ic, &err) < 0);
    CHECK(strstr(err.msg, INGRESS_CERT_DIR) != NULL);
    rm_dir();
}

TEST(operator_pair_with_chain_loads)
{
    fresh_dir();
    EVP_PKEY *ca_key;
    X509 *ca = make_cert("test CA", 100, &ca_key, NULL, "ca.pem", NULL);
    X509 *leaf = make_cert("*.sb.example.test", 90, NULL, ca_key, "leaf.pem", "key.pem");
    /* chain file: leaf then the intermediate */
    char p[128];
    path_of(p, sizeof(p), "chain.pem");
    FILE *f = fopen(p, "w");
    CHECK(f && PEM_write_X509(f, leaf) == 1 && PEM_write_X509(f, ca) == 1 && fclose(f) == 0);
    struct ingress_cert *ic;
    struct herr err;
    CHECK_EQ(open_files("chain.pem", "key.pem", &ic, &err), 0);
    CHECK(!ingress_cert_self_signed(ic));
    STACK_OF(X509) *chain = NULL;
    CHECK_EQ(SSL_CTX_get0_chain_certs(ingress_cert_ctx(ic), &chain), 1);
    CHECK_EQ(sk_X509_num(chain), 1);
    CHECK(ctx_has_cn(ic, "9-x.sb.example.test"));
    /* nothing under data_dir was written for an operator pair */
    path_of(p, sizeof(p), INGRESS_CERT_DIR);
    CHECK(access(p, F_OK) < 0);
    ingress_cert_free(ic);
    X509_free(ca);
    X509_free(leaf);
    EVP_PKEY_free(ca_key);
    rm_dir();
}

TEST(operator_pair_errors_name_the_file)
{
    fresh_dir();
    X509_free(make_cert("a.test", 90, NULL, NULL, "a.pem", "a.key"));
    X509_free(make_cert("b.test", 90, NULL, NULL, "b.pem", "b.key"));
    X509_free(make_cert("old.test", -1, NULL, NULL, "old.pem", "old.key"));
    write_text("garbage.pem", "hello\n\x01\x02 not PEM at all\n");
    write_text("trunc.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    write_text("empty.pem", "");
    struct ingress_cert *ic;
    struct herr err;
    CHECK_EQ(open_files("a.pem", "b.key", &ic, &err), -EINVAL);
    CHECK(strstr(err.msg, "does not match") && strstr(err.msg, "b.key") &&
          strstr(err.msg, "a.pem"));
    CHECK_EQ(open_files("garbage.pem", "a.key", &ic, &err), -EINVAL);
    CHECK(strstr(err.msg, "garbage.pem") != NULL);
    CHECK_EQ(open_files("trunc.pem", "a.key", &ic, &err), -EINVAL);
    CHECK(strstr(err.msg, "trunc.pem") != NULL);
    CHECK_EQ(open_files("empty.pem", "a.key", &ic, &err), -EINVAL);
    CHECK_EQ(open_files("a.pem", "garbage.pem", &ic, &err), -EINVAL);
    CHECK(strstr(err.msg, "key") && strstr(err.msg, "garbage.pem"));
    CHECK_EQ(open_files("a.pem", "a.pem", &ic, &err), -EINVAL); /* a certificate as the key */
    CHECK_EQ(open_files("missing.pem", "a.key", &ic, &err), -ENOENT);
    CHECK(strstr(err.msg, "missing.pem") != NULL);
    CHECK_EQ(open_files("a.pem", "missing.key", &ic, &err), -ENOENT);
    CHECK(strstr(err.msg, "missing.key") != NULL);
    CHECK_EQ(open_files("old.pem", "old.key", &ic, &err), -EKEYEXPIRED);
    CHECK(strstr(err.msg, "expired") && strstr(err.msg, "old.pem"));
    CHECK_EQ(open_files(".", "a.key", &ic, &err) < 0, true); /* a directory */
    /* a certificate without its key (and the reverse) is a configuration error */
    char c[128];
    path_of(c, sizeof(c), "a.pem");
    struct ingress_cert_cfg cfg = { .cert_file = c, .data_dir = dir, .domain = "x.test" };
    herr_clear(&err);
    CHECK_EQ(ingress_cert_open(&cfg, &ic, &err), -EINVAL);
    CHECK(strstr(err.msg, "ingress_tls_key") != NULL);
    cfg = (struct ingress_cert_cfg){ .key_file = c, .data_dir = dir, .domain = "x.test" };
    herr_clear(&err);
    CHECK_EQ(ingress_cert_open(&cfg, &ic, &err), -EINVAL);
    CHECK(strstr(err.msg, "ingress_tls_cert") != NULL);
    rm_dir();
}

TEST(reload_swaps_a_changed_pair_and_keeps_the_old_on_error)
{
    fresh_dir();
    X509_free(make_cert("one.test", 90, NULL, NULL, "cert.pem", "key.pem"));
    struct ingress_cert *ic;
    struct herr err;
    CHECK_EQ(open_files("cert.pem", "key.pem", &ic, &err), 0);
    SSL_CTX *ctx = ingress_cert_ctx(ic);
    CHECK(ctx_has_cn(ic, "one.test"));
    herr_clear(&err);
    CHECK_EQ(ingress_cert_reload(ic, &err), 0); /* unchanged */
    /* an ACME renewal: new files under the same names */
    X509_free(make_cert("two.test", 90, NULL, NULL, "cert.pem", "key.pem"));
    herr_clear(&err);
    CHECK_EQ(ingress_cert_reload(ic, &err), 1);
    CHECK(ingress_cert_ctx(ic) == ctx); /* same context, new certificate */
    CHECK(ctx_has_cn(ic, "two.test"));
    herr_clear(&err);
    CHECK_EQ(ingress_cert_reload(ic, &err), 0);
    /* half an update: a new certificate, the old key → refused, two.test stays */
    X509_free(make_cert("three.test", 90, NULL, NULL, "cert.pem", NULL));
    herr_clear(&err);
    CHECK_EQ(ingress_cert_reload(ic, &err), -EINVAL);
    CHECK(strstr(err.msg, "does not match") != NULL);
    CHECK(ctx_has_cn(ic, "two.test"));
    /* the key arrives: now it loads */
    X509_free(make_cert("four.test", 90, NULL, NULL, "cert.pem", "key.pem"));
    herr_clear(&err);
    CHECK_EQ(ingress_cert_reload(ic, &err), 1);
    CHECK(ctx_has_cn(ic, "four.test"));
    /* a file gone for a moment: an error, the certificate stays */
    char p[128];
    path_of(p, sizeof(p), "key.pem");
    CHECK_EQ(unlink(p), 0);
    herr_clear(&err);
    CHECK(ingress_cert_reload(ic, &err) < 0);
    CHECK(ctx_has_cn(ic, "four.test"));
    ingress_cert_free(ic);
    rm_dir();
}

TEST(watch_picks_up_a_renewal_on_the_loop)
{
    fresh_dir();
    X509_free(make_cert("one.test", 90, NULL, NULL, "cert.pem", "key.pem"));
    struct ingress_cert *ic;
    struct herr err;
    CHECK_EQ(open_files("cert.pem", "key.pem", &ic, &err), 0);
    struct event_base *base = event_base_new();
    CHECK(base != NULL);
    CHECK_EQ(ingress_cert_watch(ic, base, 1), 0);
    X509_free(make_cert("two.test", 90, NULL, NULL, "cert.pem", "key.pem"));
    uint64_t end = harness_now_us() + 5000000;
    while (!ctx_has_cn(ic, "two.test") && harness_now_us() < end) {
        struct timeval tv = { 0, 200000 };
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    CHECK(ctx_has_cn(ic, "two.test"));
    ingress_cert_free(ic); /* stops the watch before the loop goes */
    event_base_free(base);
    rm_dir();
}
