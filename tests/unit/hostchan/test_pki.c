/* SPDX-License-Identifier: MIT */
/* test_pki.c: the host channel's certificates (hostchan/pki.h) in a temp dir: a CA and host
 * certificates that check out (key 0600, host id in CN and SAN, both TLS purposes); files kept
 * without force; hostile ids, addresses, names and directories refused with clear errors; the
 * start-up check refuses a key of another certificate, a certificate of another CA or another
 * host, an expired one, and unreadable or non-PEM files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "daemon/hostchan/pki.h"
#include "harness.h"

static char root[64];

static const char *pth(const char *rel)
{
    static char bufs[8][256];
    static int i;
    char *b = bufs[i++ % 8];
    snprintf(b, 256, "%s/%s", root, rel);
    return b;
}

static int issue(const char *ca, const char *host, const char *out, bool force)
{
    struct hostchan_issue in = { .ca_dir = pth(ca), .host_id = host, .out_dir = pth(out),
                                 .force = force };
    struct herr e = { 0 };
    return hostchan_cert_issue(&in, &e);
}

static void setup(void)
{
    snprintf(root, sizeof(root), "/tmp/hearth-pki-XXXXXX");
    CHECK(mkdtemp(root) != NULL);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    CHECK_EQ(system(cmd), 0);
}

TEST(pki_make_and_check)
{
    setup();
    struct herr e = { 0 };
    CHECK_EQ(hostchan_ca_init(pth("ca"), 0, false, &e), 0);
    struct stat st;
    CHECK_EQ(stat(pth("ca/ca.key"), &st), 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    /* kept without force, replaced with it */
    herr_clear(&e);
    CHECK_EQ(hostchan_ca_init(pth("ca"), 0, false, &e), -EEXIST);
    CHECK(strstr(e.msg, "--force"));
    herr_clear(&e);
    CHECK_EQ(hostchan_ca_init(pth("ca"), 0, true, &e), 0);
    struct hostchan_issue in = { .ca_dir = pth("ca"), .host_id = "host-a", .out_dir = pth("a"),
                                 .ips = { "127.0.0.1", "::1" }, .n_ips = 2,
                                 .dns = { "a.example.net" }, .n_dns = 1 };
    herr_clear(&e);
    CHECK_EQ(hostchan_cert_issue(&in, &e), 0);
    CHECK_EQ(stat(pth("a/host.key"), &st), 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    CHECK_EQ(issue("ca", "host-a", "a", false), -EEXIST);
    CHECK_EQ(issue("ca", "host-b", "b", false), 0);
    herr_clear(&e);
    CHECK_EQ(hostchan_pki_check(pth("a/ca.crt"), pth("a/host.crt"), pth("a/host.key"), "host-a",
                                &e), 0);
    CHECK_EQ(hostchan_pki_check(pth("ca/ca.crt"), pth("b/host.crt"), pth("b/host.key"), NULL,
                                &e), 0);
    /* the host id it names */
    FILE *f = fopen(pth("a/host.crt"), "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    char id[64];
    CHECK_EQ(hostchan_cert_host_id(x, id, sizeof(id)), 0);
    CHECK_STR(id, "host-a");
    CHECK_EQ(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 1);
    CHECK_EQ(X509_check_purpose(x, X509_PURPOSE_SSL_CLIENT, 0), 1);
    CHECK_EQ(X509_check_ip_asc(x, "::1", 0), 1);
    X509_free(x);
    teardown();
}

TEST(pki_hostile_inputs)
{
    setup();
    struct herr e = { 0 };
    CHECK_EQ(hostchan_ca_init(pth("ca"), 0, false, &e), 0);
    CHECK_EQ(issue("ca", "", "x", false), -EINVAL);
    CHECK_EQ(issue("ca", "bad id", "x", false), -EINVAL);
    CHECK_EQ(issue("ca", "-lead", "x", false), -EINVAL);
    CHECK_EQ(issue("ca", "../../etc", "x", false), -EINVAL);
    char big[80];
    memset(big, 'h', 70);
    big[70] = '\0';
    CHECK_EQ(issue("ca", big, "x", false), -EINVAL);
    CHECK(!hostchan_id_ok("a,DNS:evil"));
    CHECK(hostchan_id_ok("h1.rack-2_b"));
    struct hostchan_issue in = { .ca_dir = pth("ca"), .host_id = "h", .out_dir = pth("x"),
                                 .ips = { "1.2.3" }, .n_ips = 1 };
    herr_clear(&e);
    CHECK_EQ(hostchan_cert_issue(&in, &e), -EINVAL);
    CHECK(strstr(e.msg, "--ip"));
    in.n_ips = 0;
    in.dns[0] = "a,IP:1.1.1.1";
    in.n_dns = 1;
    herr_clear(&e);
    CHECK_EQ(hostchan_cert_issue(&in, &e), -EINVAL);
    CHECK(strstr(e.msg, "--dns"));
    CHECK_EQ(issue("nope", "h", "x", false), -ENOENT);
    /* the output is a file, not a directory */
    FILE *f = fopen(pth("file"), "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    CHECK_EQ(issue("ca", "h", "file", false), -ENOTDIR);
    CHECK_EQ(hostchan_ca_init(pth("file"), 0, false, &e), -ENOTDIR);
    teardown();
}

/* A certificate for host signed by the CA in ca_dir that expired yesterday. */
static void write_expired(const char *ca_dir, const char *host, const char *out_dir)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/ca.key", ca_dir);
    FILE *f = fopen(p, "r");
    EVP_PKEY *cak = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    snprintf(p, sizeof(p), "%s/ca.crt", ca_dir);
    f = fopen(p, "r");
    X509 *ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    snprintf(p, sizeof(p), "%s/host.key", out_dir);
    f = fopen(p, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    X509 *x = X509_new();
    CHECK(cak && ca && k && x);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -3 * 86400L);
    X509_gmtime_adj(X509_getm_notAfter(x), -86400L);
    X509_set_pubkey(x, k);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)host, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(ca));
    CHECK(X509_sign(x, cak, EVP_sha256()) > 0);
    snprintf(p, sizeof(p), "%s/host.crt", out_dir);
    f = fopen(p, "w");
    CHECK(f && PEM_write_X509(f, x) == 1);
    if (f)
        fclose(f);
    X509_free(x);
    X509_free(ca);
    EVP_PKEY_free(cak);
    EVP_PKEY_free(k);
}

TEST(pki_check_refuses)
{
    setup();
    struct herr e = { 0 };
    CHECK_EQ(hostchan_ca_init(pth("ca"), 0, false, &e), 0);
    CHECK_EQ(hostchan_ca_init(pth("ca2"), 0, false, &e), 0);
    CHECK_EQ(issue("ca", "host-a", "a", false), 0);
    CHECK_EQ(issue("ca", "host-b", "b", false), 0);
    CHECK_EQ(issue("ca2", "host-a", "evil", false), 0);
    /* another host's certificate */
    herr_clear(&e);
    CHECK(hostchan_pki_check(pth("ca/ca.crt"), pth("b/host.crt"), pth("b/host.key"), "host-a",
                             &e) < 0);
    CHECK(strstr(e.msg, "is for host 'host-b'"));
    /* the key of another certificate */
    herr_clear(&e);
    CHECK(hostchan_pki_check(pth("ca/ca.crt"), pth("a/host.crt"), pth("b/host.key"), NULL,
                             &e) < 0);
    CHECK(strstr(e.msg, "is not the key of"));
    /* signed by another CA */
    herr_clear(&e);
    CHECK_EQ(hostchan_pki_check(pth("ca/ca.crt"), pth("evil/host.crt"), pth("evil/host.key"),
                                NULL, &e), -EKEYREJECTED);
    CHECK(strstr(e.msg, "does not verify"));
    /* unreadable and non-PEM files */
    herr_clear(&e);
    CHECK_EQ(hostchan_pki_check(pth("ca/none.crt"), pth("a/host.crt"), pth("a/host.key"), NULL,
                                &e), -ENOENT);
    CHECK(strstr(e.msg, "cannot read"));
    FILE *f = fopen(pth("junk"), "w");
    CHECK(f != NULL);
    if (f) {
        fputs("not a certificate\n", f);
        fclose(f);
    }
    herr_clear(&e);
    CHECK_EQ(hostchan_pki_check(pth("ca/ca.crt"), pth("junk"), pth("a/host.key"), NULL, &e),
             -EINVAL);
    CHECK(strstr(e.msg, "no PEM certificate"));
    /* expired */
    write_expired(pth("ca"), "host-a", pth("a"));
    herr_clear(&e);
    CHECK_EQ(hostchan_pki_check(pth("ca/ca.crt"), pth("a/host.crt"), pth("a/host.key"), NULL,
                                &e), -EKEYREJECTED);
    CHECK(strstr(e.msg, "expired"));
    teardown();
}
