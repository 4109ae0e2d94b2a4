/* SPDX-License-Identifier: MIT */
/* test_args.c: the argv parser, and the dispatcher's usage errors: every one exits 2 and names
 * the one thing that is wrong. */
#include "cli/args.h"
#include "cli/commands.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static const struct cli_opt opts[] = {
    { "stream", 's', CLI_OPT_BOOL, NULL, NULL, NULL, NULL },
    { "all", 'a', CLI_OPT_BOOL, NULL, NULL, NULL, NULL },
    { "name", 0, CLI_OPT_VALUE, NULL, NULL, NULL, NULL },
    { "output", 'o', CLI_OPT_VALUE, NULL, NULL, NULL, NULL },
    { "env", 'e', CLI_OPT_LIST, NULL, NULL, NULL, NULL },
    { "yes", 'y', CLI_OPT_BOOL, "force", NULL, NULL, NULL },
    { "network", 0, CLI_OPT_LIST, "net", NULL, NULL, NULL },
    { NULL },
};

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

TEST(args_flags_anywhere_and_dashdash)
{
    char **argv = ARGV("box", "--name", "n1", "-s", "--", "ls", "-l", "--name");
    struct cli_args a;
    char err[128];
    CHECK_EQ(cli_args_parse(&a, opts, 8, argv, err, sizeof(err)), 0);
    CHECK_EQ(a.npos, 4);
    CHECK_STR(a.pos[0], "box");
    CHECK_STR(a.pos[1], "ls");
    CHECK_STR(a.pos[3], "--name");
    CHECK_EQ(a.dashdash, 1);
    CHECK(cli_flag(&a, "stream"));
    CHECK(!cli_flag(&a, "all"));
    CHECK_STR(cli_value(&a, "name"), "n1");
    cli_args_release(&a);
}

TEST(args_forms)
{
    char **argv = ARGV("--name=x=y", "-ojson", "-e", "A=1", "--env=B", "-sa", "--force",
                       "--net", "n1", "--network=n2", "-");
    struct cli_args a;
    char err[128];
    CHECK_EQ(cli_args_parse(&a, opts, 11, argv, err, sizeof(err)), 0);
    CHECK_STR(cli_value(&a, "name"), "x=y");
    CHECK_STR(cli_value(&a, "output"), "json");
    CHECK_STR(cli_value_at(&a, "env", 0), "A=1");
    CHECK_STR(cli_value_at(&a, "env", 1), "B");
    CHECK(cli_value_at(&a, "env", 2) == NULL);
    CHECK(cli_flag(&a, "stream") && cli_flag(&a, "all") && cli_flag(&a, "yes"));
    CHECK_STR(cli_value_at(&a, "network", 0), "n1");
    CHECK_STR(cli_value_at(&a, "network", 1), "n2");
    CHECK_EQ(a.npos, 1);
    CHECK_STR(a.pos[0], "-");
    cli_args_release(&a);
}

TEST(args_usage_errors_name_one_thing)
{
    static const struct {
        const char *argv[4];
        const char *err;
    } cases[] = {
        { { "--bogus" }, "unknown flag '--bogus'" },
        { { "--bogus=1" }, "unknown flag '--bogus'" },
        { { "-x" }, "unknown flag '-x'" },
        { { "-sx" }, "unknown flag '-x'" },
        { { "--name" }, "flag '--name' needs a value" },
        { { "-o" }, "flag '-o' needs a value" },
        { { "--stream=yes" }, "flag '--stream' takes no value" },
        { { "--name", "a", "--name", "b" }, "flag '--name' given twice" },
        { { "--\x1b[31m" }, "unknown flag '--?[31m'" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int argc = 0;
        while (argc < 4 && cases[i].argv[argc])
            argc++;
        struct cli_args a;
        char err[128] = "";
        CHECK_EQ(cli_args_parse(&a, opts, argc, (char **)cases[i].argv, err, sizeof(err)),
                 -EINVAL);
        CHECK_STR(err, cases[i].err);
        cli_args_release(&a);
    }
}

TEST(args_no_table)
{
    char **argv = ARGV("a", "b");
    struct cli_args a;
    char err[128];
    CHECK_EQ(cli_args_parse(&a, NULL, 2, argv, err, sizeof(err)), 0);
    CHECK_EQ(a.npos, 2);
    CHECK(!cli_flag(&a, "anything"));
    cli_args_release(&a);
    char **bad = ARGV("--x");
    CHECK_EQ(cli_args_parse(&a, NULL, 1, bad, err, sizeof(err)), -EINVAL);
    cli_args_release(&a);
}

/* Runs the dispatcher with stderr captured; returns the exit code. */
static int dispatch(int argc, char **argv, char *out, size_t n)
{
    struct cli cli = { 0 };
    cli.settings.api_url = "http://127.0.0.1:9";
    char path[] = "/tmp/hearth-test-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    fflush(stderr);
    dup2(fd, 2);
    int rc = cli_dispatch(&cli, argc, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t got = pread(fd, out, n - 1, 0);
    out[got > 0 ? got : 0] = '\0';
    close(fd);
    unlink(path);
    cli_args_release(&cli.args);
    hearth_client_free(cli.client);
    return rc;
}

TEST(dispatch_usage_errors_exit_2)
{
    static const struct {
        const char *argv[8];
        const char *want;
    } cases[] = {
        { { "nosuch" }, "unknown command 'nosuch'" },
        { { "sb" }, "sb: missing subcommand" },
        { { "sb", "frobnicate" }, "unknown subcommand 'frobnicate'" },
        { { "sb", "get" }, "sb get: missing argument <sb>" },
        { { "sb", "get", "a", "b" }, "unexpected argument 'b'" },
        { { "sandbox", "resize", "box" }, "missing argument <size>" },
        { { "sb", "push", "box", "local" }, "missing argument <remote-path>" },
        { { "sb", "ls", "--limit" }, "flag '--limit' needs a value" },
        { { "sb", "ls", "--wat" }, "unknown flag '--wat'" },
        { { "sb", "ls", "extra" }, "unexpected argument 'extra'" },
        { { "sb", "exec" }, "missing argument <sb>" },
        { { "config", "set", "api_key" }, "missing argument <value>" },
        { { "config", "get", "colour" }, "unknown config key 'colour'" },
        { { "config", "set", "output", "xml" }, "output 'xml' is not 'table' or 'json'" },
        { { "completion", "tcsh" }, "unknown shell 'tcsh'" },
        { { "completion" }, "missing argument bash|zsh|fish" },
        { { "whoami", "x" }, "unexpected argument 'x'" },
        { { "sb", "--json" }, "expected a subcommand before '--json'" },
        { { "sb", "pause" }, "sb pause: missing argument <sb>" },
        { { "sb", "resume", "a", "b" }, "unexpected argument 'b'" },
        { { "sb", "fork" }, "sb fork: missing argument <sb>" },
        { { "sb", "fork", "box", "--count" }, "flag '--count' needs a value" },
        { { "sb", "fork", "box", "--paused=yes" }, "flag '--paused' takes no value" },
        { { "sb", "fork", "box", "--cnt", "2" }, "unknown flag '--cnt'" },
        { { "sb", "fork", "box", "--count", "2", "--count", "3" }, "'--count' given twice" },
        { { "sb", "fork", "box", "-n", "2" }, "unknown flag '-n'" },
        { { "sb", "wait" }, "sb wait: missing argument <sb>" },
        { { "sb", "wait", "box", "--for" }, "flag '--for' needs a value" },
        { { "sb", "wait", "box", "--no-wait" }, "unknown flag '--no-wait'" },
        { { "sb", "pause", "box", "--paused" }, "unknown flag '--paused'" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int argc = 0;
        while (argc < 8 && cases[i].argv[argc])
            argc++;
        char out[2048];
        int rc = dispatch(argc, (char **)cases[i].argv, out, sizeof(out));
        if (rc != CLI_EXIT_USAGE || !strstr(out, cases[i].want)) {
            harness_fail(__FILE__, __LINE__, "case %zu: rc %d, stderr: %s (want '%s')", i, rc,
                         out, cases[i].want);
            return;
        }
        CHECK(strstr(out, "hint: ") != NULL);
    }
}

TEST(dispatch_command_usage_errors_before_any_request)
{
    /* these parse, open a client (no request yet) and fail in the handler's own checks */
    static const struct {
        const char *argv[8];
        const char *want;
    } cases[] = {
        { { "sb", "exec", "box" }, "missing remote command" },
        { { "sb", "resize", "box", "20" }, "needs a unit" },
        { { "sb", "resize", "box", "1.5GiB" }, "needs a unit" },
        { { "sb", "ls", "--limit", "0" }, "--limit '0'" },
        { { "sb", "ls", "--limit", "501" }, "--limit '501'" },
        { { "sb", "ls", "--status", "sleeping" }, "--status 'sleeping'" },
        { { "sb", "edit", "box" }, "nothing to change" },
        { { "sb", "edit", "box", "--ingress", "maybe" }, "--ingress 'maybe'" },
        { { "sb", "push", "box", "f", "relative" }, "must be absolute" },
        { { "sb", "pull", "box", "rel", "-" }, "must be absolute" },
        { { "sb", "push", "box", "-", "/dir/" }, "names a directory" },
        { { "sb", "rm", "box" }, "without confirmation; pass --yes" },
        /* fork --count: 1 to 100, digits only */
        { { "sb", "fork", "box", "--count", "0" }, "--count '0' is not a number from 1 to 100" },
        { { "sb", "fork", "box", "--count", "-1" }, "--count '-1'" },
        { { "sb", "fork", "box", "--count=-1" }, "--count '-1'" },
        { { "sb", "fork", "box", "--count", "1e9" }, "--count '1e9'" },
        { { "sb", "fork", "box", "--count", "1000000000" }, "--count '1000000000'" },
        { { "sb", "fork", "box", "--count", "101" }, "--count '101'" },
        { { "sb", "fork", "box", "--count", "two" }, "--count 'two'" },
        { { "sb", "fork", "box", "--count", "" }, "--count ''" },
        { { "sb", "fork", "box", "--count", " 2" }, "--count ' 2'" },
        { { "sb", "fork", "box", "--count", "2.0" }, "--count '2.0'" },
        { { "sb", "fork", "box", "--count", "0x10" }, "--count '0x10'" },
        { { "sb", "fork", "box", "--count", "99999999999999999999999" }, "--count '9999" },
        { { "sb", "fork", "box", "--count", "[31m" }, "--count '?[31m'" },
        /* durations */
        { { "sb", "pause", "box", "--timeout", "0" }, "--timeout '0' is not a duration" },
        { { "sb", "pause", "box", "--timeout", "0s" }, "--timeout '0s'" },
        { { "sb", "resume", "box", "--timeout", "-5s" }, "--timeout '-5s'" },
        { { "sb", "resume", "box", "--timeout", "1.5s" }, "--timeout '1.5s'" },
        { { "sb", "wait", "box", "--timeout", "soon" }, "--timeout 'soon'" },
        { { "sb", "wait", "box", "--timeout", "" }, "--timeout ''" },
        { { "sb", "wait", "box", "--timeout", "5 m" }, "--timeout '5 m'" },
        { { "sb", "wait", "box", "--timeout", "99999999999999999h" }, "--timeout '9999" },
        { { "sb", "fork", "box", "--timeout", "1h30" }, "--timeout '1h30'" },
        { { "sb", "pause", "box", "--no-wait", "--timeout", "5s" }, "exclude each other" },
        { { "sb", "fork", "box", "--no-wait", "--timeout", "5s" }, "exclude each other" },
        /* wait --for */
        { { "sb", "wait", "box", "--for", "sleeping" }, "--for 'sleeping' is not running, paused" },
        { { "sb", "wait", "box", "--for", "error" }, "--for 'error'" },
        { { "sb", "wait", "box", "--for", "" }, "--for ''" },
        { { "sb", "wait", "box", "--for", "Running" }, "--for 'Running'" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int argc = 0;
        while (argc < 8 && cases[i].argv[argc])
            argc++;
        char out[2048];
        int rc = dispatch(argc, (char **)cases[i].argv, out, sizeof(out));
        if (rc != CLI_EXIT_USAGE || !strstr(out, cases[i].want))
            harness_fail(__FILE__, __LINE__, "case %zu: rc %d, stderr: %s (want '%s')", i, rc,
                         out, cases[i].want);
    }
}

TEST(dispatch_help_exits_0)
{
    char out[4096];
    char **argv = ARGV("sb", "get", "--help");
    CHECK_EQ(dispatch(3, argv, out, sizeof(out)), 0);
    char **argv2 = ARGV("--help");
    CHECK_EQ(dispatch(1, argv2, out, sizeof(out)), 0);
}

TEST(dispatch_no_command)
{
    char out[4096];
    CHECK_EQ(dispatch(0, ARGV(NULL), out, sizeof(out)), CLI_EXIT_USAGE);
    CHECK(strstr(out, "usage: hearth") != NULL);
}
