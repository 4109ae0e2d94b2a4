/* SPDX-License-Identifier: MIT */
/* test_sshgw_policy.c: the SSH gateway's pure checks (sshgw_policy.h): login names, -L
 * destinations, env requests, signal names and stored-key comparison, hostile input beside
 * good. */
#include "daemon/sshgw/sshgw_policy.h"
#include "harness.h"

#include <signal.h>
#include <string.h>

TEST(sshgw_login_names)
{
    static const struct {
        const char *in;
        enum sshgw_login_kind kind;
        const char *want;
    } cases[] = {
        { "sb-01JABCDEFGHJKMNPQRSTVWXYZ0", SSHGW_LOGIN_ID, "sb-01JABCDEFGHJKMNPQRSTVWXYZ0" },
        { "sb-01jabcdefghjkmnpqrstvwxyz0", SSHGW_LOGIN_ID, "sb-01JABCDEFGHJKMNPQRSTVWXYZ0" },
        { "SB-01JABCDEFGHJKMNPQRSTVWXYZ0", SSHGW_LOGIN_ID, "sb-01JABCDEFGHJKMNPQRSTVWXYZ0" },
        { "my-box", SSHGW_LOGIN_NAME, "my-box" },
        { "My_Box.1", SSHGW_LOGIN_NAME, "My_Box.1" },
        { "sb-short", SSHGW_LOGIN_NAME, "sb-short" },
        { "", SSHGW_LOGIN_BAD, NULL },
        { "-x", SSHGW_LOGIN_BAD, NULL },
        { "a b", SSHGW_LOGIN_BAD, NULL },
        { "root@box", SSHGW_LOGIN_BAD, NULL },
        { "../etc", SSHGW_LOGIN_BAD, NULL },
        { "caf\xc3\xa9", SSHGW_LOGIN_BAD, NULL },
        { "a234567890123456789012345678901234567890123456789012345678901234", SSHGW_LOGIN_BAD,
          NULL },
        { "sb-01JABCDEFGHJKMNPQRSTVWXYZI", SSHGW_LOGIN_NAME, "sb-01JABCDEFGHJKMNPQRSTVWXYZI" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[SSHGW_LOGIN_SIZE] = "";
        CHECK_EQ(sshgw_login_parse(cases[i].in, out), cases[i].kind);
        if (cases[i].want)
            CHECK_STR(out, cases[i].want);
    }
    char out[SSHGW_LOGIN_SIZE];
    CHECK_EQ(sshgw_login_parse(NULL, out), SSHGW_LOGIN_BAD);
    char big[5000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_EQ(sshgw_login_parse(big, out), SSHGW_LOGIN_BAD);
}

TEST(sshgw_forward_destinations)
{
    static const struct { const char *host; bool ok; } cases[] = {
        { "localhost", true }, { "LOCALHOST", true }, { "127.0.0.1", true }, { "::1", true },
        { "[::1]", true }, { "my-box", true }, { "My_Box", true }, { "MY-BOX", true },
        { "sb-01JABCDEFGHJKMNPQRSTVWXYZ0", true },
        { "", false }, { "127.0.0.2", false }, { "10.0.0.1", false }, { "0.0.0.0", false },
        { "169.254.169.254", false }, { "example.com", false }, { "localhost.evil", false },
        { "my-box.evil", false }, { "::2", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_EQ(sshgw_dest_allowed(cases[i].host, "My_Box", "sb-01JABCDEFGHJKMNPQRSTVWXYZ0",
                                    "my-box"),
                 cases[i].ok);
    CHECK(!sshgw_dest_allowed(NULL, "a", "b", "c"));
    CHECK(!sshgw_dest_allowed("", "", "", ""));
    CHECK(sshgw_dest_allowed("localhost", NULL, NULL, NULL));
}

TEST(sshgw_env_subset)
{
    static const struct { const char *k, *v; bool ok; } cases[] = {
        { "LANG", "C.UTF-8", true }, { "LC_ALL", "en_US.UTF-8", true },
        { "LC_TIME", "C", true }, { "LANGUAGE", "en", true }, { "LC_MY_THING", "x", true },
        { "LD_PRELOAD", "/x.so", false }, { "PATH", "/tmp", false }, { "HOME", "/", false },
        { "TERM", "xterm", false }, { "LC_", "x", false }, { "LC_lower", "x", false },
        { "LANG", "a\nb", false }, { "LANG", "\x7f", false }, { "LANG", "caf\xc3\xa9", false },
        { "", "x", false }, { "BASH_ENV", "/x", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_EQ(sshgw_env_allowed(cases[i].k, cases[i].v), cases[i].ok);
    char big[300];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK(!sshgw_env_allowed("LANG", big));
    CHECK(!sshgw_env_allowed(NULL, "x"));
    CHECK(!sshgw_env_allowed("LANG", NULL));
}

TEST(sshgw_signal_names)
{
    CHECK_EQ(sshgw_signal_number("INT"), SIGINT);
    CHECK_EQ(sshgw_signal_number("KILL"), SIGKILL);
    CHECK_EQ(sshgw_signal_number("TERM"), SIGTERM);
    CHECK_EQ(sshgw_signal_number("SIGTERM"), -1);
    CHECK_EQ(sshgw_signal_number("int"), -1);
    CHECK_EQ(sshgw_signal_number(""), -1);
    CHECK_EQ(sshgw_signal_number(NULL), -1);
    CHECK_STR(sshgw_signal_name(SIGKILL), "KILL");
    CHECK_STR(sshgw_signal_name(SIGSEGV), "SEGV");
    CHECK(sshgw_signal_name(0) == NULL);
    CHECK(sshgw_signal_name(SIGCHLD) == NULL);
    CHECK(sshgw_signal_name(-1) == NULL);
}

TEST(sshgw_key_comparison)
{
    const char *stored = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIabc me@host";
    CHECK(sshgw_key_matches(stored, "ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIabc"));
    CHECK(sshgw_key_matches("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIabc", "ssh-ed25519",
                            "AAAAC3NzaC1lZDI1NTE5AAAAIabc"));
    CHECK(!sshgw_key_matches(stored, "ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIab"));
    CHECK(!sshgw_key_matches(stored, "ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIabcd"));
    CHECK(!sshgw_key_matches(stored, "ssh-rsa", "AAAAC3NzaC1lZDI1NTE5AAAAIabc"));
    CHECK(!sshgw_key_matches(stored, "ssh-ed2551", "9 AAAAC3NzaC1lZDI1NTE5AAAAIabc"));
    CHECK(!sshgw_key_matches(stored, "", ""));
    CHECK(!sshgw_key_matches(NULL, "ssh-ed25519", "x"));
    CHECK(!sshgw_key_matches(stored, NULL, NULL));
}
