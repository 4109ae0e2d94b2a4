/* SPDX-License-Identifier: MIT */
/* pki.c: making and checking the host channel's certificates with OpenSSL's C API (pki.h).
 * Keys are ECDSA P-256 (small, fast handshakes, what every TLS 1.3 stack speaks); certificates
 * are X.509 v3 signed with SHA-256. Files are written with O_EXCL unless forced, keys 0600. */
#include "daemon/hostchan/pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define URI_PREFIX "hearth-host:"

bool hostchan_id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > HOSTCHAN_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return true;
}

static int path_join(char *out, size_t size, const char *dir, const char *name, struct herr *e)
{
    if ((size_t)snprintf(out, size, "%s/%s", dir, name) >= size)
        return herr_set(e, -ENAMETOOLONG, "path too long: '%s/%s'", dir, name);
    return 0;
}

/* dir exists as a directory, or is created 0700 when create. */
static int dir_ready(const char *dir, bool create, struct herr *e)
{
    struct stat st;
    if (!dir || !dir[0])
        return herr_set(e, -EINVAL, "no directory given");
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : herr_set(e, -ENOTDIR, "'%s' is not a directory", dir);
    if (errno != ENOENT || !create)
        return herr_set(e, -errno, "cannot use directory '%s': %s", dir, strerror(errno));
    if (mkdir(dir, 0700) < 0)
        return herr_set(e, -errno, "cannot create directory '%s': %s", dir, strerror(errno));
    return 0;
}

static int no_clobber(const char *path, bool force, struct herr *e)
{
    if (!force && access(path, F_OK) == 0)
        return herr_set(e, -EEXIST, "'%s' exists; pass --force to replace it", path);
    return 0;
}

/* Writes a PEM object (key when key, else cert) to path with mode. */
static int write_pem(const char *path, EVP_PKEY *key, X509 *cert, mode_t mode, struct herr *e)
{
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return herr_set(e, -ENAMETOOLONG, "path too long: '%s'", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return herr_set(e, -errno, "cannot write '%s': %s", tmp, strerror(errno));
    (void)fchmod(fd, mode); /* (void): open's mode already applies unless umask narrowed it */
    BIO *b = BIO_new_fd(fd, BIO_CLOSE);
    int ok = b && (key ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
                       : PEM_write_bio_X509(b, cert)) == 1 && BIO_flush(b) == 1;
    if (b)
        BIO_free(b);
    else
        close(fd);
    if (!ok || rename(tmp, path) < 0) {
        int err = errno ? errno : EIO;
        unlink(tmp);
        return herr_set(e, -err, "cannot write '%s'", path);
    }
    return 0;
}

static EVP_PKEY *read_key(const char *path, struct herr *e)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        herr_set(e, -errno, "cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k)
        herr_set(e, -EINVAL, "'%s' holds no PEM private key", path);
    return k;
}

static X509 *read_cert(const char *path, struct herr *e)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        herr_set(e, -errno, "cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x)
        herr_set(e, -EINVAL, "'%s' holds no PEM certificate", path);
    return x;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    int ok = ext && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok ? 0 : -EINVAL;
}

/* A fresh certificate for key, subject CN=cn, valid days, issued by issuer (NULL: itself). */
static X509 *new_cert(EVP_PKEY *key, const char *cn, unsigned days, X509 *issuer)
{
    X509 *x = X509_new();
    BIGNUM *serial = BN_new();
    X509_NAME *n = x ? X509_get_subject_name(x) : NULL;
    bool ok = x && serial && BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
              X509_set_version(x, X509_VERSION_3) == 1 &&
              BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) &&
              X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
              X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400L) &&
              X509_set_pubkey(x, key) == 1 &&
              X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                                         (const unsigned char *)"hearth host channel", -1, -1,
                                         0) == 1 &&
              X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
                                         -1, 0) == 1 &&
              X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n) == 1;
    BN_free(serial);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static EVP_PKEY *new_key(void)
{
    return EVP_EC_gen("P-256");
}

int hostchan_ca_init(const char *dir, unsigned days, bool force, struct herr *e)
{
    char kpath[4096], cpath[4096];
    int r = dir_ready(dir, true, e);
    if (r == 0)
        r = path_join(kpath, sizeof(kpath), dir, HOSTCHAN_CA_KEY, e);
    if (r == 0)
        r = path_join(cpath, sizeof(cpath), dir, HOSTCHAN_CA_CERT, e);
    if (r == 0)
        r = no_clobber(kpath, force, e);
    if (r == 0)
        r = no_clobber(cpath, force, e);
    if (r < 0)
        return r;
    EVP_PKEY *key = new_key();
    X509 *x = key ? new_cert(key, "hearth host CA", days ? days : 3650, NULL) : NULL;
    if (!x || add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") < 0 ||
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
        add_ext(x, x, NID_subject_key_identifier, "hash") < 0 ||
        X509_sign(x, key, EVP_sha256()) <= 0)
        r = herr_set(e, -EIO, "cannot make the CA certificate");
    if (r == 0)
        r = write_pem(kpath, key, NULL, 0600, e);
    if (r == 0)
        r = write_pem(cpath, NULL, x, 0644, e);
    X509_free(x);
    EVP_PKEY_free(key);
    return r;
}

static int issue_check(const struct hostchan_issue *in, struct herr *e)
{
    if (!hostchan_id_ok(in->host_id))
        return herr_set(e, -EINVAL, "bad host id '%s': expected 1-63 characters of "
                        "[A-Za-z0-9._-] starting with a letter or digit",
                        in->host_id ? in->host_id : "");
    for (size_t i = 0; i < in->n_ips; i++) {
        unsigned char buf[16];
        if (!in->ips[i] || (inet_pton(AF_INET, in->ips[i], buf) != 1 &&
                            inet_pton(AF_INET6, in->ips[i], buf) != 1))
            return herr_set(e, -EINVAL, "bad --ip '%s': expected an IPv4 or IPv6 address",
                            in->ips[i] ? in->ips[i] : "");
    }
    for (size_t i = 0; i < in->n_dns; i++) {
        const char *d = in->dns[i];
        size_t n = d ? strlen(d) : 0;
        bool ok = n > 0 && n < 254;
        for (size_t k = 0; ok && k < n; k++)
            ok = (d[k] >= 'a' && d[k] <= 'z') || (d[k] >= 'A' && d[k] <= 'Z') ||
                 (d[k] >= '0' && d[k] <= '9') || d[k] == '-' || d[k] == '.';
        if (!ok)
            return herr_set(e, -EINVAL, "bad --dns '%s': expected a DNS name", d ? d : "");
    }
    return 0;
}

/* The subjectAltName value: the host id as DNS and URI, then the extra names. */
static int san_text(const struct hostchan_issue *in, char *out, size_t size)
{
    size_t len = (size_t)snprintf(out, size, "DNS:%s,URI:" URI_PREFIX "%s", in->host_id,
                                  in->host_id);
    for (size_t i = 0; i < in->n_ips && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, ",IP:%s", in->ips[i]);
    for (size_t i = 0; i < in->n_dns && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, ",DNS:%s", in->dns[i]);
    return len < size ? 0 : -ENAMETOOLONG;
}

int hostchan_cert_issue(const struct hostchan_issue *in, struct herr *e)
{
    char cakey[4096], cacrt[4096], kpath[4096], cpath[4096], copy[4096], san[8192];
    int r = issue_check(in, e);
    if (r == 0)
        r = dir_ready(in->ca_dir, false, e);
    if (r == 0)
        r = dir_ready(in->out_dir, true, e);
    if (r == 0)
        r = path_join(cakey, sizeof(cakey), in->ca_dir, HOSTCHAN_CA_KEY, e);
    if (r == 0)
        r = path_join(cacrt, sizeof(cacrt), in->ca_dir, HOSTCHAN_CA_CERT, e);
    if (r == 0)
        r = path_join(kpath, sizeof(kpath), in->out_dir, HOSTCHAN_HOST_KEY, e);
    if (r == 0)
        r = path_join(cpath, sizeof(cpath), in->out_dir, HOSTCHAN_HOST_CERT, e);
    if (r == 0)
        r = path_join(copy, sizeof(copy), in->out_dir, HOSTCHAN_CA_CERT, e);
    if (r == 0)
        r = no_clobber(kpath, in->force, e);
    if (r == 0)
        r = no_clobber(cpath, in->force, e);
    if (r == 0 && san_text(in, san, sizeof(san)) < 0)
        r = herr_set(e, -ENAMETOOLONG, "too many names");
    if (r < 0)
        return r;
    EVP_PKEY *cak = read_key(cakey, e);
    X509 *cax = cak ? read_cert(cacrt, e) : NULL;
    if (!cax) {
        EVP_PKEY_free(cak);
        return e && e->code ? e->code : -EINVAL;
    }
    if (X509_check_private_key(cax, cak) != 1) {
        X509_free(cax);
        EVP_PKEY_free(cak);
        return herr_set(e, -EINVAL, "'%s' is not the key of '%s'", cakey, cacrt);
    }
    EVP_PKEY *key = new_key();
    X509 *x = key ? new_cert(key, in->host_id, in->days ? in->days : 825, cax) : NULL;
    if (!x || add_ext(x, cax, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
        add_ext(x, cax, NID_key_usage, "critical,digitalSignature") < 0 ||
        add_ext(x, cax, NID_ext_key_usage, "serverAuth,clientAuth") < 0 ||
        add_ext(x, cax, NID_subject_alt_name, san) < 0 ||
        add_ext(x, cax, NID_authority_key_identifier, "keyid:always") < 0 ||
        X509_sign(x, cak, EVP_sha256()) <= 0)
        r = herr_set(e, -EIO, "cannot make the host certificate");
    if (r == 0)
        r = write_pem(kpath, key, NULL, 0600, e);
    if (r == 0)
        r = write_pem(cpath, NULL, x, 0644, e);
    /* the CA certificate next to them: host_tls_ca of this host's config */
    if (r == 0 && (in->force || access(copy, F_OK) != 0))
        r = write_pem(copy, NULL, cax, 0644, e);
    X509_free(x);
    EVP_PKEY_free(key);
    X509_free(cax);
    EVP_PKEY_free(cak);
    return r;
}

/* True when x has a SAN (DNS, or URI hearth-host:ID) equal to id. */
static bool san_names(X509 *x, const char *id)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    bool hit = false;
    for (int i = 0; names && !hit && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        const ASN1_IA5STRING *s = NULL;
        const char *prefix = "";
        if (g->type == GEN_DNS) {
            s = g->d.dNSName;
        } else if (g->type == GEN_URI) {
            s = g->d.uniformResourceIdentifier;
            prefix = URI_PREFIX;
        }
        if (!s)
            continue;
        size_t pl = strlen(prefix), il = strlen(id);
        const unsigned char *d = ASN1_STRING_get0_data(s);
        hit = (size_t)ASN1_STRING_length(s) == pl + il && memcmp(d, prefix, pl) == 0 &&
              memcmp(d + pl, id, il) == 0;
    }
    GENERAL_NAMES_free(names);
    return hit;
}

int hostchan_cert_host_id(X509 *x, char *out, size_t out_size)
{
    char cn[HOSTCHAN_ID_MAX + 2];
    X509_NAME *n = x ? X509_get_subject_name(x) : NULL;
    int len = n ? X509_NAME_get_text_by_NID(n, NID_commonName, cn, sizeof(cn)) : -1;
    if (len <= 0 || (size_t)len != strlen(cn) || !hostchan_id_ok(cn) || !san_names(x, cn) ||
        (size_t)len >= out_size)
        return -EINVAL;
    memcpy(out, cn, (size_t)len + 1);
    return 0;
}

int hostchan_pki_check(const char *ca_file, const char *cert_file, const char *key_file,
                       const char *host_id, struct herr *e)
{
    X509 *ca = read_cert(ca_file, e);
    X509 *x = ca ? read_cert(cert_file, e) : NULL;
    EVP_PKEY *k = x ? read_key(key_file, e) : NULL;
    int r = k ? 0 : (e && e->code ? e->code : -EINVAL);
    X509_STORE *st = NULL;
    X509_STORE_CTX *vc = NULL;
    char id[HOSTCHAN_ID_MAX + 1];
    if (r == 0 && X509_check_private_key(x, k) != 1)
        r = herr_set(e, -EINVAL, "'%s' is not the key of '%s'", key_file, cert_file);
    if (r == 0) {
        st = X509_STORE_new();
        vc = X509_STORE_CTX_new();
        if (!st || !vc || X509_STORE_add_cert(st, ca) != 1 ||
            X509_STORE_CTX_init(vc, st, x, NULL) != 1)
            r = herr_set(e, -ENOMEM, "out of memory");
    }
    if (r == 0) {
        X509_STORE_CTX_set_purpose(vc, X509_PURPOSE_SSL_CLIENT);
        if (X509_verify_cert(vc) != 1) {
            int ve = X509_STORE_CTX_get_error(vc);
            r = herr_set(e, -EKEYREJECTED, "'%s' does not verify against the CA '%s': %s",
                         cert_file, ca_file, X509_verify_cert_error_string(ve));
        }
    }
    if (r == 0 && hostchan_cert_host_id(x, id, sizeof(id)) < 0)
        r = herr_set(e, -EINVAL, "'%s' names no host id (CN and SAN); make it with "
                     "'hearthd cert issue'", cert_file);
    if (r == 0 && host_id && strcmp(id, host_id) != 0)
        r = herr_set(e, -EINVAL, "'%s' is for host '%s', but this host is '%s'", cert_file, id,
                     host_id);
    X509_STORE_CTX_free(vc);
    X509_STORE_free(st);
    EVP_PKEY_free(k);
    X509_free(x);
    X509_free(ca);
    return r;
}
