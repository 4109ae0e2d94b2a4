/* SPDX-License-Identifier: MIT */
/* test_ident.c: the forwarded identity headers of the host channel (hostchan/ident.h): a key's
 * and a token's identity round-trip; missing, malformed, oversized and contradictory values are
 * refused; the prefix match that strips a client's forged headers. */
#include <errno.h>
#include <string.h>

#include "daemon/hostchan/ident.h"
#include "harness.h"

#define KEY "key_01HZY3N8V6E3F7S4G9Q2W1X0AB"
#define SB "sb-01HZY3N8V6E3F7S4G9Q2W1X0AB"

TEST(ident_roundtrip)
{
    struct hostchan_ident w = { .admin = true }, got;
    strcpy(w.user_id, "alice");
    strcpy(w.key_id, KEY);
    char text[512];
    CHECK_EQ(hostchan_ident_format(&w, text, sizeof(text)), 0);
    CHECK(strstr(text, "X-Hearth-Forwarded-User: alice\r\n"));
    CHECK(strstr(text, "X-Hearth-Forwarded-Key-Id: " KEY "\r\n"));
    CHECK(strstr(text, "X-Hearth-Forwarded-Admin: 1\r\n"));
    const char *why = "";
    CHECK_EQ(hostchan_ident_parse("alice", KEY, "1", NULL, &got, &why), 0);
    CHECK_STR(got.user_id, "alice");
    CHECK_STR(got.key_id, KEY);
    CHECK(got.admin);
    CHECK_STR(got.sandbox_id, "");
    /* a delegated token: its sandbox, no key, never admin */
    struct hostchan_ident tok = { 0 };
    strcpy(tok.user_id, "bob");
    strcpy(tok.sandbox_id, SB);
    CHECK_EQ(hostchan_ident_format(&tok, text, sizeof(text)), 0);
    CHECK(strstr(text, "X-Hearth-Forwarded-Sandbox: " SB "\r\n"));
    CHECK(!strstr(text, "Key-Id"));
    CHECK_EQ(hostchan_ident_parse("bob", NULL, "0", SB, &got, &why), 0);
    CHECK_STR(got.sandbox_id, SB);
    CHECK(!got.admin);
    CHECK_EQ(hostchan_ident_format(&tok, text, 20), -ENOSPC);
}

TEST(ident_hostile)
{
    struct hostchan_ident got;
    const char *why = "";
    CHECK_EQ(hostchan_ident_parse(NULL, KEY, "0", NULL, &got, &why), -EINVAL);
    CHECK_EQ(hostchan_ident_parse("", KEY, "0", NULL, &got, &why), -EINVAL);
    CHECK_EQ(hostchan_ident_parse("Alice", KEY, "0", NULL, &got, &why), -EINVAL);
    CHECK_EQ(hostchan_ident_parse("al ice", KEY, "0", NULL, &got, &why), -EINVAL);
    CHECK_EQ(hostchan_ident_parse("-alice", KEY, "0", NULL, &got, &why), -EINVAL);
    char big[300];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_EQ(hostchan_ident_parse(big, KEY, "0", NULL, &got, &why), -EINVAL);
    CHECK(strstr(why, "too long"));
    /* neither or both of key and sandbox */
    CHECK_EQ(hostchan_ident_parse("alice", NULL, "0", NULL, &got, &why), -EINVAL);
    CHECK_EQ(hostchan_ident_parse("alice", KEY, "0", SB, &got, &why), -EINVAL);
    /* malformed ids, non-canonical ones too */
    CHECK_EQ(hostchan_ident_parse("alice", "key_x", "0", NULL, &got, &why), -EINVAL);
    CHECK_EQ(hostchan_ident_parse("alice", "key_01hzy3n8v6e3f7s4g9q2w1x0ab", "0", NULL, &got,
                                  &why), -EINVAL);
    CHECK_EQ(hostchan_ident_parse("alice", NULL, "0", "sb-x", &got, &why), -EINVAL);
    CHECK_EQ(hostchan_ident_parse("alice", SB, "0", NULL, &got, &why), -EINVAL);
    /* admin: 0 or 1 only, never on a token */
    CHECK_EQ(hostchan_ident_parse("alice", KEY, "yes", NULL, &got, &why), -EINVAL);
    CHECK_EQ(hostchan_ident_parse("alice", KEY, "10", NULL, &got, &why), -EINVAL);
    CHECK_EQ(hostchan_ident_parse("alice", NULL, "1", SB, &got, &why), -EINVAL);
    CHECK_EQ(hostchan_ident_parse("alice", KEY, NULL, NULL, &got, &why), 0);
    CHECK(!got.admin);
    /* an invalid identity is never formatted */
    struct hostchan_ident w = { 0 };
    strcpy(w.user_id, "alice");
    char text[512];
    CHECK_EQ(hostchan_ident_format(&w, text, sizeof(text)), -EINVAL);
}

TEST(ident_header_prefix)
{
    CHECK(hostchan_ident_header("X-Hearth-Forwarded-User", 23));
    CHECK(hostchan_ident_header("x-hearth-forwarded-anything", 27));
    CHECK(hostchan_ident_header("X-HEARTH-FORWARDED-", 19));
    CHECK(!hostchan_ident_header("X-Hearth-Forward", 16));
    CHECK(!hostchan_ident_header("X-Hearth-Host", 13));
    CHECK(!hostchan_ident_header(NULL, 0));
}
