/* SPDX-License-Identifier: MIT */
/* cmd_sandbox_exec.c: `hearth sb exec <sb> [flags] -- <cmd> [args…]` (docs/cli.md §7.2),
 * buffered or streamed; the remote exit status becomes ours (§5: 125 before start, 127 not started, 255
 * lost). */
#include "cli/commands.h"
#include "cli/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"

#define STDIN_MAX ((size_t)1 << 20)

const struct cli_opt cmd_sandbox_exec_opts[] = {
    { "stream", 's', CLI_OPT_BOOL, NULL, NULL, NULL, "live output (NDJSON frames with --json)" },
    CLI_VALUE("stdin", "<file>|-", "send this file (or - for stdin) as the command's stdin"),
    CLI_BOOL("no-stdin", "do not forward piped stdin"),
    CLI_LIST("env", "KEY[=VALUE]", "environment variable (no =: from the local environment)"),
    CLI_OPT_END,
};

struct stream_state {
    struct cli *cli;
    bool started;                   /* a frame arrived */
    bool output;                    /* stdout/stderr bytes arrived */
    bool error_frame;               /* {"error":…} arrived */
    bool error_before_output;
};

static bool on_frame(void *ud, const struct hearth_frame *f)
{
    struct stream_state *s = ud;
    s->started = true;
    if (s->cli->settings.json) { /* NDJSON passes through unchanged */
        fwrite(f->line, 1, f->line_len, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    }
    switch (f->kind) {
    case HEARTH_FRAME_STDOUT:
    case HEARTH_FRAME_STDERR: {
        FILE *to = f->kind == HEARTH_FRAME_STDOUT ? stdout : stderr;
        s->output = true;
        if (!s->cli->settings.json) {
            fwrite(f->data, 1, f->len, to);
            fflush(to);
        }
        break;
    }
    case HEARTH_FRAME_ERROR:
        if (!s->error_frame)
            s->error_before_output = !s->output;
        s->error_frame = true;
        if (!s->cli->settings.json)
            fprintf(stderr, "error: %.*s\n", (int)f->len, f->data);
        break;
    default:
        break;
    }
    return true;
}

/* API failure before the command ran: 127 for spawn_failed, else 125. */
static int exec_fail(struct cli *cli, const struct hearth_error *e)
{
    cli_fail(cli, e);
    return strcmp(e->api_code, "spawn_failed") == 0 ? CLI_EXIT_EXEC_NOT_STARTED
                                                    : CLI_EXIT_EXEC_FAILED;
}

int cmd_sandbox_exec(struct cli *cli, int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error(cli, "missing remote command; put it after '--'");
    if (cli->args.dashdash > 1)
        return cli_usage_error(cli, "unexpected argument '%.60s' before '--'", argv[1]);
    const char *stdin_src = cli_value(&cli->args, "stdin");
    bool no_stdin = cli_flag(&cli->args, "no-stdin");
    if (stdin_src && no_stdin)
        return cli_usage_error(cli, "--stdin and --no-stdin exclude each other");

    int r;
    hearth_body *b = hearth_body_new();
    struct buf in;
    buf_init(&in, STDIN_MAX);
    hearth_obj *sb = NULL, *res = NULL;
    if (!b) {
        r = cli_error(cli, CLI_EXIT_EXEC_FAILED, "out of memory");
        goto out;
    }
    if (hearth_body_set_str(b, "cmd", argv[1]) != HEARTH_OK) {
        r = cli_usage_error(cli, "the command is not valid UTF-8");
        goto out;
    }
    for (int i = 2; i < argc; i++)
        if (hearth_body_append_str(b, "args", argv[i]) != HEARTH_OK) {
            r = cli_usage_error(cli, "argument %d is not valid UTF-8", i - 1);
            goto out;
        }
    if ((r = cli_env_flags(cli, b, "env")))
        goto out;
    int fd = -1;
    if (stdin_src && strcmp(stdin_src, "-") != 0) {
        fd = open(stdin_src, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            r = cli_error(cli, CLI_EXIT_USAGE, "cannot open --stdin '%s': %s", stdin_src,
                          strerror(errno));
            goto out;
        }
    } else if ((stdin_src || !isatty(STDIN_FILENO)) && !no_stdin) {
        fd = STDIN_FILENO;
    }
    if (fd >= 0) {
        int sr = buf_read_fd(&in, fd);
        if (fd != STDIN_FILENO)
            close(fd);
        if (sr == -EMSGSIZE) {
            r = cli_error(cli, CLI_EXIT_EXEC_FAILED, "stdin is larger than 1 MiB; upload it "
                                                     "with 'hearth sb push' instead");
            goto out;
        }
        if (sr < 0) {
            r = cli_error(cli, CLI_EXIT_EXEC_FAILED, "cannot read stdin: %s", strerror(-sr));
            goto out;
        }
        if (in.len && hearth_body_set_strn(b, "stdin", (const char *)in.data, in.len)) {
            r = cli_error(cli, CLI_EXIT_EXEC_FAILED, "stdin is not valid UTF-8 text");
            goto out;
        }
    }

    bool json = cli->settings.json;
    r = cli_sandbox_resolve(cli, argv[0], &sb);
    if (r) {
        r = CLI_EXIT_EXEC_FAILED;
        goto out;
    }
    const char *id = hearth_obj_str(sb, "id");
    struct hearth_error e;
    if (cli_flag(&cli->args, "stream")) {
        struct stream_state s = { .cli = cli };
        int code = -1;
        int rc = hearth_exec_stream(cli->client, id, b, on_frame, &s, &code, &e);
        if (rc != HEARTH_OK) {
            if (!s.started) {
                r = exec_fail(cli, &e);
                goto out;
            }
            cli_fail(cli, &e);
            r = CLI_EXIT_EXEC_LOST;
            goto out;
        }
        if (code >= 0)
            r = code;
        else
            r = s.error_frame && s.error_before_output ? CLI_EXIT_EXEC_NOT_STARTED
                                                       : CLI_EXIT_EXEC_LOST;
        goto out;
    }
    if (hearth_exec(cli->client, id, b, &res, &e) != HEARTH_OK) {
        r = exec_fail(cli, &e);
        goto out;
    }
    int64_t code = hearth_obj_int(res, "result.exit_code", -1);
    const char *err = hearth_obj_str(res, "result.error");
    if (json) {
        out_json(hearth_obj_json(res));
    } else {
        size_t n = 0;
        const char *p = hearth_obj_strn(res, "result.stdout", &n);
        if (p)
            fwrite(p, 1, n, stdout);
        fflush(stdout);
        p = hearth_obj_strn(res, "result.stderr", &n);
        if (p)
            fwrite(p, 1, n, stderr);
        if (err)
            fprintf(stderr, "error: %s\n", err);
    }
    if (code >= 0 && code <= 255)
        r = (int)code;
    else
        r = err ? CLI_EXIT_EXEC_NOT_STARTED : CLI_EXIT_EXEC_LOST;
out:
    buf_release(&in);
    hearth_body_free(b);
    hearth_obj_free(sb);
    hearth_obj_free(res);
    return r;
}
