/* SPDX-License-Identifier: MIT */
/* test_endpoint.c: the disk endpoint URL parser and the address policy (disk/endpoint.h): a
 * table of good and hostile URLs, and of addresses refused or let through, including IPv6
 * wrappings of refused IPv4 addresses, hearth's own pools and the operator's allow list. */
#include "daemon/disk/endpoint.h"
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

TEST(endpoint_parse_good)
{
    static const struct {
        const char *url;
        bool https;
        const char *host;
        unsigned port;
        const char *path;
    } ok[] = {
        { "https://s3.amazonaws.com", true, "s3.amazonaws.com", 443, "" },
        { "https://S3.EU-West-1.AmazonAWS.com/", true, "s3.eu-west-1.amazonaws.com", 443, "" },
        { "http://minio.lan:9000", false, "minio.lan", 9000, "" },
        { "HTTP://10.0.0.5:9000/", false, "10.0.0.5", 9000, "" },
        { "https://acct.r2.cloudflarestorage.com", true, "acct.r2.cloudflarestorage.com", 443,
          "" },
        { "http://[fd00::1]:9000", false, "fd00::1", 9000, "" },
        { "http://[2001:db8::1]", false, "2001:db8::1", 80, "" },
        { "https://gw.example.com/s3/v1//", true, "gw.example.com", 443, "/s3/v1" },
        { "https://host.example.com.", true, "host.example.com.", 443, "" },
        { "http://a:65535", false, "a", 65535, "" },
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct disk_endpoint e;
        const char *why = NULL;
        int r = disk_endpoint_parse(ok[i].url, &e, &why);
        if (r != 0) {
            harness_fail(__FILE__, __LINE__, "%s: %d %s", ok[i].url, r, why);
            continue;
        }
        CHECK(e.https == ok[i].https);
        CHECK_STR(e.host, ok[i].host);
        CHECK_EQ(e.port, ok[i].port);
        CHECK_STR(e.path, ok[i].path);
    }
}

TEST(endpoint_parse_hostile)
{
    static const char *const bad[] = {
        "",
        "s3.amazonaws.com",
        "ftp://s3.example.com",
        "file:///etc/passwd",
        "gopher://x",
        "https://",
        "https:///path",
        "https://:443",
        "https://user:pass@s3.example.com",
        "https://user@s3.example.com",
        "https://s3.example.com@evil.example",
        "https://s3.example.com?x=1",
        "https://s3.example.com/#frag",
        "https://s3.example.com/a?b",
        "https://s3 .example.com",
        "https://s3.example.com/a b",
        "https://s3.example.com\r\nHost: evil",
        "https://s3.example.com/\t",
        "https://s3.example.com:0",
        "https://s3.example.com:65536",
        "https://s3.example.com:99999999",
        "https://s3.example.com:-1",
        "https://s3.example.com:80a",
        "https://s3.example.com:",
        "https://[::1",
        "https://[::1]x",
        "https://[zz::1]",
        "https://[]",
        "https://-bad.example.com",
        "https://bad-.example.com",
        "https://a..b",
        "https://exa$mple.com",
        "https://2130706433",
        "https://0x7f000001",
        "https://010.0.0.1",
        "https://1.2.3.4.",
        "https://127.1",
        "https://s3.example.com/../x",
        "https://s3.example.com/a/./b",
        "https://s3.example.com/%2e%2e/x",
        "https://s3.example.com/a\\b",
        "https://s3.ex\xc3\xa4mple.com",
        "https://s3.example.com/\x7f",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct disk_endpoint e;
        const char *why = NULL;
        if (disk_endpoint_parse(bad[i], &e, &why) != -EINVAL)
            harness_fail(__FILE__, __LINE__, "accepted: '%s'", bad[i]);
        else if (!why || !*why || strchr(why, '\n'))
            harness_fail(__FILE__, __LINE__, "no one-line reason for '%s'", bad[i]);
    }
    /* 511 bytes pass, 512 do not; a 64-byte label does not */
    char url[600];
    snprintf(url, sizeof(url), "https://h.example.com/");
    size_t n = strlen(url);
    memset(url + n, 'a', 511 - n);
    url[511] = '\0';
    struct disk_endpoint e;
    CHECK_EQ(disk_endpoint_parse(url, &e, NULL), 0);
    url[511] = 'a';
    url[512] = '\0';
    CHECK_EQ(disk_endpoint_parse(url, &e, NULL), -EINVAL);
    char label[100] = "https://";
    memset(label + 8, 'b', 64);
    label[72] = '\0';
    CHECK_EQ(disk_endpoint_parse(label, &e, NULL), -EINVAL);
    CHECK_EQ(disk_endpoint_parse(NULL, &e, NULL), -EINVAL);
}

/* Builds a sockaddr from a numeric address. */
static int judge(const struct disk_addr_policy *p, const char *ip, const char **why)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1)
        s4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1)
        s6->sin6_family = AF_INET6;
    else
        return -99;
    return disk_addr_judge(p, (struct sockaddr *)&ss, why);
}

static struct disk_cidr cidr(const char *ip, unsigned prefix)
{
    struct disk_cidr c = { .prefix = prefix };
    if (inet_pton(AF_INET, ip, c.addr) == 1)
        c.family = AF_INET;
    else if (inet_pton(AF_INET6, ip, c.addr) == 1)
        c.family = AF_INET6;
    return c;
}

TEST(endpoint_address_policy)
{
    struct disk_cidr own[] = { cidr("10.88.0.0", 16), cidr("10.89.0.0", 16),
                               cidr("169.254.88.0", 22) };
    struct disk_addr_policy p = { .own = own, .n_own = 3 };
    static const char *const refused[] = {
        "127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3", "169.254.169.254",
        "169.254.0.1", "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1",
        "10.88.0.1", "10.89.3.4", "::", "::1", "fe80::1", "febf::1", "ff02::1",
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.88.0.2", "::127.0.0.1",
        "64:ff9b::a9fe:a9fe", "::ffff:0.0.0.0", "fec0::1",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        const char *why = NULL;
        int r = judge(&p, refused[i], &why);
        if (r != -EACCES || !why || !*why)
            harness_fail(__FILE__, __LINE__, "%s: %d", refused[i], r);
    }
    static const char *const allowed[] = {
        "52.216.0.1", "10.0.0.5", "10.87.255.255", "10.90.0.1", "172.16.0.1", "192.168.1.10",
        "100.64.0.1", "8.8.8.8", "2600:1f18::1", "fd00::1", "::ffff:52.216.0.1",
    };
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        const char *why = NULL;
        int r = judge(&p, allowed[i], &why);
        if (r != 0)
            harness_fail(__FILE__, __LINE__, "%s refused: %s", allowed[i], why);
    }
    const char *why;
    CHECK_EQ(judge(NULL, "127.0.0.1", &why), -EACCES);
    CHECK_EQ(judge(NULL, "10.88.0.1", &why), 0); /* no pools given */
    /* the allow list lets a refused address through, in either form */
    struct disk_cidr allow[] = { cidr("127.0.0.1", 32), cidr("10.88.7.0", 24), cidr("::1", 128) };
    p.allow = allow;
    p.n_allow = 3;
    CHECK_EQ(judge(&p, "127.0.0.1", &why), 0);
    CHECK_EQ(judge(&p, "::ffff:127.0.0.1", &why), 0);
    CHECK_EQ(judge(&p, "::1", &why), 0);
    CHECK_EQ(judge(&p, "10.88.7.9", &why), 0);
    CHECK_EQ(judge(&p, "127.0.0.2", &why), -EACCES);
    CHECK_EQ(judge(&p, "10.88.8.1", &why), -EACCES);
    CHECK_EQ(judge(&p, "169.254.169.254", &why), -EACCES);
    CHECK(strstr(why, "link-local") != NULL);
    struct sockaddr sa = { .sa_family = AF_UNIX };
    CHECK_EQ(disk_addr_judge(&p, &sa, &why), -EACCES);
    CHECK_EQ(disk_addr_judge(&p, NULL, &why), -EACCES);
}
