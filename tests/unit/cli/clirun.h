/* SPDX-License-Identifier: MIT */
/* clirun.h: how the CLI unit tests run a command: `hearth [--json] argv…` through the dispatcher
 * against a URL (tests/fakehttp.c's server, or port 9 where no request may succeed), with stdin
 * from a string (never a terminal) and stdout and stderr captured, and the EXPECT check of exit
 * code and output. Static functions: each test file includes it once. */
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "harness.h"

#define ARGV(...) ((const char *[]){ __VA_ARGS__, NULL })
#define OK(data) "{\"status\":\"success\",\"data\":" data "}"

struct run {
    int rc;
    char out[8192];
    char err[8192];
};

static void slurp(int fd, char *buf, size_t n)
{
    ssize_t got = pread(fd, buf, n - 1, 0);
    buf[got > 0 ? got : 0] = '\0';
    close(fd);
}

/* Runs `hearth [--json] argv…` against url with stdin holding in (never a terminal). */
static void run_in(const char *url, bool json, const char *in, const char *const *argv,
                   struct run *r)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    struct cli cli = { 0 };
    cli.settings.api_url = url ? url : "http://127.0.0.1:9";
    cli.settings.api_key = "hk_test";
    cli.settings.json = json;
    char po[] = "/tmp/hearth-test-out-XXXXXX", pe[] = "/tmp/hearth-test-err-XXXXXX";
    char pi[] = "/tmp/hearth-test-in-XXXXXX";
    int fo = mkstemp(po), fe = mkstemp(pe), fi = mkstemp(pi);
    unlink(po);
    unlink(pe);
    unlink(pi);
    if (in && write(fi, in, strlen(in)) < 0)
        harness_fail(__FILE__, __LINE__, "write stdin");
    lseek(fi, 0, SEEK_SET);
    int s0 = dup(0), s1 = dup(1), s2 = dup(2);
    fflush(stdout);
    fflush(stderr);
    dup2(fi, 0);
    dup2(fo, 1);
    dup2(fe, 2);
    r->rc = cli_dispatch(&cli, argc, (char **)argv);
    fflush(stdout);
    fflush(stderr);
    dup2(s0, 0);
    dup2(s1, 1);
    dup2(s2, 2);
    close(s0);
    close(s1);
    close(s2);
    close(fi);
    slurp(fo, r->out, sizeof(r->out));
    slurp(fe, r->err, sizeof(r->err));
    cli_args_release(&cli.args);
    hearth_client_free(cli.client);
}

static void run_cli(const char *url, bool json, const char *const *argv, struct run *r)
{
    run_in(url, json, NULL, argv, r);
}

static bool has(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

#define EXPECT(r, code, out_has, err_has)                                                        \
    do {                                                                                         \
        if ((r).rc != (code) || !has((r).out, out_has) || !has((r).err, err_has)) {              \
            harness_fail(__FILE__, __LINE__, "rc %d (want %d)\nstdout: %s\nstderr: %s", (r).rc,  \
                         code, (r).out, (r).err);                                                \
            return;                                                                              \
        }                                                                                        \
    } while (0)

