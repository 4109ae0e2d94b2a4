/* SPDX-License-Identifier: MIT */
/* cmd_process.c: `hearth sb process|proc …` and the short forms `hearth sb ps|start|attach|
 * kill` (docs/cli.md "Managed processes"): start, run, shell, ls, get, input, close-stdin,
 * resize, signal, wait, stop. Following output and the terminal are cmd_process_attach.c's;
 * the exit code of run and wait is the process's (§5). */
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/proc_attach.h"
#include "cli/rawterm.h"
#include "cli/values.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/b64.h"
#include "common/buf.h"

#define INPUT_MAX ((size_t)1 << 20)

#define PROC_CREATE_FLAGS                                                                        \
    CLI_VALUE("cwd", "<dir>", "working directory in the sandbox (default /root)"),             \
        CLI_LIST("env", "KEY[=VALUE]", "environment variable (no =: from the local one)"),     \
        { "pty", 't', CLI_OPT_BOOL, "tty", NULL, NULL, "run on a pseudo-terminal" },            \
        CLI_VALUE("rows", "<n>", "terminal rows (default: the local terminal's, else 24)"),    \
        CLI_VALUE("cols", "<n>", "terminal columns (default: the local terminal's, else 80)")
#define PROC_FOLLOW_FLAGS                                                                        \
    CLI_VALUE("after", "<seq>", "replay output after this sequence number (default 0)"),       \
        CLI_BOOL("no-follow", "stop after the replay")

const struct cli_opt cmd_process_run_opts[] = {
    PROC_CREATE_FLAGS, PROC_FOLLOW_FLAGS,
    CLI_BOOL("all", "wait for the whole process tree, not just the leader"),
    CLI_VALUE("timeout", "<duration>", "stop waiting and leave it running (exit 6)"),
    CLI_OPT_END,
};
const struct cli_opt cmd_process_start_opts[] = {
    PROC_CREATE_FLAGS,
    CLI_BOOL("follow", "attach after starting"),
    CLI_OPT_END,
};
const struct cli_opt cmd_process_shell_opts[] = {
    PROC_CREATE_FLAGS,
    CLI_VALUE("cmd", "<program>", "run this instead of the default login shell"),
    CLI_BOOL("no-attach", "print the process id and leave it running"),
    CLI_OPT_END,
};
const struct cli_opt cmd_process_attach_opts[] = {
    PROC_FOLLOW_FLAGS,
    CLI_BOOL("stdin", "forward local stdin as input"),
    CLI_BOOL("raw", "print the NDJSON events as received"),
    CLI_OPT_END,
};
const struct cli_opt cmd_process_input_opts[] = {
    CLI_VALUE("text", "<s>", "send this text"),
    CLI_VALUE("file", "<path>|-", "send this file (or - for stdin)"),
    CLI_VALUE("base64", "<b64>", "send these bytes"),
    CLI_OPT_END,
};
const struct cli_opt cmd_process_resize_opts[] = {
    CLI_VALUE("rows", "<n>", "terminal rows, 1 to 1000"),
    CLI_VALUE("cols", "<n>", "terminal columns, 1 to 1000"),
    CLI_OPT_END,
};
const struct cli_opt cmd_process_wait_opts[] = {
    CLI_BOOL("all", "wait for the whole process tree"),
    CLI_VALUE("timeout", "<duration>", "how long to wait (default: forever; exit 6 when over)"),
    CLI_OPT_END,
};
const struct cli_opt cmd_process_stop_opts[] = {
    CLI_VALUE("grace", "<duration>", "SIGTERM first, SIGKILL after this (default 1s)"),
    { "yes", 'y', CLI_OPT_BOOL, "force", NULL, NULL, "do not ask for confirmation" },
    CLI_OPT_END,
};

/* ---- shared ---- */

/* The sandbox's id (resolved from a name) into *ret (free with hearth_obj_free()). */
static int sandbox(struct cli *cli, const char *ref, hearth_obj **ret)
{
    return cli_sandbox_resolve(cli, ref, ret);
}

/* An integer flag 1..1000 into *ret (def when absent). */
static int size_flag(struct cli *cli, const char *name, int def, int *ret)
{
    const char *v = cli_value(&cli->args, name);
    int64_t n;
    if (!v) {
        *ret = def;
        return 0;
    }
    if (cli_parse_count(v, 1000, &n) < 0 || n < 1)
        return cli_usage_error(cli, "--%s must be an integer from 1 to 1000", name);
    *ret = (int)n;
    return 0;
}

/* The create body of run, start and shell: cmd/args from argv[from..argc), cwd, env, pty. */
static int create_body(struct cli *cli, int argc, char **argv, int from, bool pty,
                       const char *cmd, hearth_body **ret)
{
    hearth_body *b = hearth_body_new();
    if (!b)
        return cli_error(cli, CLI_EXIT_FAIL, "out of memory");
    int r = 0;
    if (cmd && hearth_body_set_str(b, "cmd", cmd) != HEARTH_OK)
        r = cli_usage_error(cli, "the command is not valid UTF-8");
    for (int i = from; i < argc && !r; i++)
        if (hearth_body_append_str(b, "args", argv[i]) != HEARTH_OK)
            r = cli_usage_error(cli, "argument %d is not valid UTF-8", i - from + 1);
    const char *cwd = cli_value(&cli->args, "cwd");
    if (!r && cwd && hearth_body_set_str(b, "cwd", cwd) != HEARTH_OK)
        r = cli_usage_error(cli, "--cwd is not valid UTF-8");
    if (!r)
        r = cli_env_flags(cli, b, "env");
    if (!r && pty) {
        int rows, cols, trows, tcols;
        rawterm_size(&trows, &tcols);
        if (!(r = size_flag(cli, "rows", trows, &rows)) &&
            !(r = size_flag(cli, "cols", tcols, &cols)) &&
            hearth_body_set_pty(b, rows, cols) != HEARTH_OK)
            r = cli_error(cli, CLI_EXIT_FAIL, "out of memory");
    }
    if (r) {
        hearth_body_free(b);
        return r;
    }
    *ret = b;
    return 0;
}

/* Starts body in sandbox id; the ManagedProcess in *ret. */
static int start_proc(struct cli *cli, const char *id, hearth_body *b, hearth_obj **ret)
{
    struct hearth_error e;
    if (hearth_process_start(cli->client, id, b, ret, &e) != HEARTH_OK) {
        cli_fail(cli, &e);
        return strcmp(e.api_code, "spawn_failed") == 0 ? CLI_EXIT_EXEC_NOT_STARTED
                                                      : CLI_EXIT_EXEC_FAILED;
    }
    return 0;
}

/* The exit code of a finished process record: its code, or 255 when unknown. */
static int exit_of(const hearth_obj *p)
{
    int64_t code = hearth_obj_int(p, "exit_code", -1);
    return code >= 0 && code <= 255 ? (int)code : CLI_EXIT_EXEC_LOST;
}

/* Long polls until the leader (or the tree) exited or timeout_ms (< 0: never) passed. 0 with
 * *ret, CLI_EXIT_TIMEOUT, or an error's code. */
static int wait_until(struct cli *cli, const char *id, const char *pid, bool tree,
                      int64_t timeout_ms, hearth_obj **ret)
{
    int64_t start = (int64_t)(out_now_us() / 1000);
    for (;;) {
        int64_t left = timeout_ms < 0 ? 300000 : timeout_ms - ((int64_t)(out_now_us() / 1000) - start);
        if (left < 0)
            left = 0;
        hearth_obj *p = NULL;
        struct hearth_error e;
        if (hearth_process_wait(cli->client, id, pid, tree, left > 300000 ? 300000 : left, &p,
                                &e) != HEARTH_OK)
            return cli_fail(cli, &e);
        if (hearth_obj_bool(p, tree ? "tree_exited" : "leader_exited", false)) {
            *ret = p;
            return 0;
        }
        hearth_obj_free(p);
        if (timeout_ms >= 0 && left == 0)
            return cli_error(cli, CLI_EXIT_TIMEOUT, "still running after the timeout");
    }
}

static int duration_flag(struct cli *cli, const char *name, int64_t def, int64_t *ret)
{
    const char *v = cli_value(&cli->args, name);
    if (!v) {
        *ret = def;
        return 0;
    }
    if (cli_parse_duration_ms(v, ret) < 0)
        return cli_usage_error(cli, "--%s '%.40s' is not a duration (30s, 5m, …)", name, v);
    return 0;
}

/* ---- start, run, shell ---- */

static int create_common(struct cli *cli, int argc, char **argv, bool pty, const char *cmd,
                         hearth_obj **ret_sb, hearth_obj **ret_proc)
{
    int from = cmd && cli->args.dashdash > 0 ? 2 : argc;
    hearth_body *b = NULL;
    int r = create_body(cli, argc, argv, from, pty, cmd, &b);
    if (r)
        return r;
    r = sandbox(cli, argv[0], ret_sb);
    if (!r)
        r = start_proc(cli, hearth_obj_str(*ret_sb, "id"), b, ret_proc);
    hearth_body_free(b);
    return r;
}

static const char *cmd_after_dashdash(struct cli *cli, int argc, char **argv, int *ret_err)
{
    *ret_err = 0;
    if (argc < 2) {
        *ret_err = cli_usage_error(cli, "missing the command; put it after '--'");
        return NULL;
    }
    if (cli->args.dashdash > 1) {
        *ret_err = cli_usage_error(cli, "unexpected argument '%.60s' before '--'", argv[1]);
        return NULL;
    }
    return argv[1];
}

int cmd_process_start(struct cli *cli, int argc, char **argv)
{
    int r;
    const char *cmd = cmd_after_dashdash(cli, argc, argv, &r);
    if (!cmd)
        return r;
    hearth_obj *sb = NULL, *p = NULL;
    bool pty = cli_flag(&cli->args, "pty");
    r = create_common(cli, argc, argv, pty, cmd, &sb, &p);
    if (!r) {
        if (cli->settings.json)
            out_json(hearth_obj_json(p));
        else if (!cli_flag(&cli->args, "follow"))
            printf("%s\n", hearth_obj_str(p, "process_id"));
        int code = -1;
        if (cli_flag(&cli->args, "follow") &&
            !(r = cli_proc_attach(cli, hearth_obj_str(sb, "id"), hearth_obj_str(p, "process_id"),
                                  pty, 0, true, pty, false, &code)))
            r = cli_proc_exit_status(code);
    }
    hearth_obj_free(sb);
    hearth_obj_free(p);
    return r;
}

int cmd_process_shell(struct cli *cli, int argc, char **argv)
{
    hearth_obj *sb = NULL, *p = NULL;
    const char *cmd = cli_value(&cli->args, "cmd");
    int r = create_common(cli, argc, argv, true, cmd, &sb, &p);
    if (!r) {
        if (cli_flag(&cli->args, "no-attach") || cli->settings.json)
            cli->settings.json ? out_json(hearth_obj_json(p))
                               : (void)printf("%s\n", hearth_obj_str(p, "process_id"));
        else {
            int code = -1;
            if (!(r = cli_proc_attach(cli, hearth_obj_str(sb, "id"),
                                      hearth_obj_str(p, "process_id"), true, 0, true, true, false,
                                      &code)))
                r = cli_proc_exit_status(code);
        }
    }
    hearth_obj_free(sb);
    hearth_obj_free(p);
    return r;
}

int cmd_process_run(struct cli *cli, int argc, char **argv)
{
    int r;
    const char *cmd = cmd_after_dashdash(cli, argc, argv, &r);
    if (!cmd)
        return r;
    int64_t timeout, after = 0;
    const char *a = cli_value(&cli->args, "after");
    if ((r = duration_flag(cli, "timeout", -1, &timeout)))
        return r;
    if (a && cli_parse_count(a, INT64_MAX, &after) < 0)
        return cli_usage_error(cli, "--after must be a sequence number");
    hearth_obj *sb = NULL, *p = NULL, *done = NULL;
    bool pty = cli_flag(&cli->args, "pty");
    r = create_common(cli, argc, argv, pty, cmd, &sb, &p);
    if (r)
        goto out;
    const char *id = hearth_obj_str(sb, "id"), *pid = hearth_obj_str(p, "process_id");
    /* piped stdin goes in as input, then stdin is closed; a terminal's is typed (pty) */
    bool forward = pty ? isatty(STDIN_FILENO) : !isatty(STDIN_FILENO);
    int code = -1;
    r = cli_proc_attach(cli, id, pid, pty, after, !cli_flag(&cli->args, "no-follow"), forward,
                        false, &code);
    if (r)
        goto out;
    if (code >= 0 && !cli_flag(&cli->args, "all")) {
        r = cli_proc_exit_status(code);
        goto out;
    }
    r = wait_until(cli, id, pid, cli_flag(&cli->args, "all"), timeout, &done);
    if (!r)
        r = exit_of(done);
out:
    hearth_obj_free(sb);
    hearth_obj_free(p);
    hearth_obj_free(done);
    return r;
}

/* ---- attach ---- */

/* The newest live process of sandbox id into pid (64 bytes). */
static int newest_live(struct cli *cli, const char *id, char pid[64], bool *ret_pty)
{
    hearth_obj *l = NULL;
    struct hearth_error e;
    if (hearth_process_list(cli->client, id, &l, &e) != HEARTH_OK)
        return cli_fail(cli, &e);
    size_t n = hearth_obj_array_len(l, "processes");
    int r = cli_error(cli, CLI_EXIT_NOT_FOUND, "no live process in this sandbox");
    for (size_t i = 0; i < n; i++) {
        char k[64];
        snprintf(k, sizeof(k), "processes.%zu.leader_exited", i);
        if (hearth_obj_bool(l, k, true))
            continue;
        snprintf(k, sizeof(k), "processes.%zu.process_id", i);
        snprintf(pid, 64, "%s", hearth_obj_str(l, k) ?: "");
        snprintf(k, sizeof(k), "processes.%zu.kind", i);
        *ret_pty = hearth_obj_str(l, k) && strcmp(hearth_obj_str(l, k), "pty") == 0;
        r = 0;
        break;
    }
    hearth_obj_free(l);
    return r;
}

int cmd_process_attach(struct cli *cli, int argc, char **argv)
{
    hearth_obj *sb = NULL, *p = NULL;
    int64_t after = 0;
    const char *a = cli_value(&cli->args, "after");
    if (a && cli_parse_count(a, INT64_MAX, &after) < 0)
        return cli_usage_error(cli, "--after must be a sequence number");
    int r = sandbox(cli, argv[0], &sb);
    if (r)
        return r;
    const char *id = hearth_obj_str(sb, "id");
    char pid[64];
    bool pty = false;
    if (argc > 1) {
        struct hearth_error e;
        snprintf(pid, sizeof(pid), "%s", argv[1]);
        if (hearth_process_get(cli->client, id, pid, &p, &e) != HEARTH_OK)
            r = cli_fail(cli, &e);
        else
            pty = hearth_obj_str(p, "kind") && strcmp(hearth_obj_str(p, "kind"), "pty") == 0;
    } else {
        r = newest_live(cli, id, pid, &pty);
    }
    if (!r) {
        bool raw = cli_flag(&cli->args, "raw");
        bool forward = cli_flag(&cli->args, "stdin") || (pty && isatty(STDIN_FILENO) && !raw);
        int code = -1;
        r = cli_proc_attach(cli, id, pid, pty, after, !cli_flag(&cli->args, "no-follow"),
                            forward, raw, &code);
        if (!r)
            r = cli_proc_exit_status(code);
    }
    hearth_obj_free(sb);
    hearth_obj_free(p);
    return r;
}

/* ---- ls, get ---- */

int cmd_process_ls(struct cli *cli, int argc, char **argv)
{
    hearth_obj *sb = NULL, *l = NULL;
    int r = sandbox(cli, argv[0], &sb);
    if (r)
        return r;
    struct hearth_error e;
    if (hearth_process_list(cli->client, hearth_obj_str(sb, "id"), &l, &e) != HEARTH_OK) {
        r = cli_fail(cli, &e);
        goto out;
    }
    if (cli->settings.json) {
        char *arr = hearth_obj_value_json(l, "processes");
        out_json(arr ? arr : "[]");
        free(arr);
        goto out;
    }
    static const char *const heads[] = { "PROCESS ID", "KIND", "PID", "STATE", "EXIT", "AGE",
                                         "COMMAND" };
    struct out_table t;
    out_table_init(&t, 7, heads);
    int64_t now = (int64_t)time(NULL) * 1000;
    size_t n = hearth_obj_array_len(l, "processes");
    for (size_t i = 0; i < n; i++) {
        char k[64], pidtxt[24], ex[24], age[32], cmd[512];
        snprintf(k, sizeof(k), "processes.%zu.pid", i);
        snprintf(pidtxt, sizeof(pidtxt), "%lld", (long long)hearth_obj_int(l, k, 0));
        snprintf(k, sizeof(k), "processes.%zu.exit_code", i);
        if (hearth_obj_has(l, k))
            snprintf(ex, sizeof(ex), "%lld", (long long)hearth_obj_int(l, k, 0));
        else
            snprintf(ex, sizeof(ex), "-");
        snprintf(k, sizeof(k), "processes.%zu.created_at", i);
        out_age(hearth_obj_str(l, k), now, age, sizeof(age));
        snprintf(k, sizeof(k), "processes.%zu.cmd", i);
        size_t used = (size_t)snprintf(cmd, sizeof(cmd), "%s", hearth_obj_str(l, k) ?: "");
        snprintf(k, sizeof(k), "processes.%zu.args", i);
        for (size_t j = 0; j < hearth_obj_array_len(l, k) && used < sizeof(cmd); j++)
            used += (size_t)snprintf(cmd + used, sizeof(cmd) - used, " %s",
                                     hearth_obj_array_str(l, k, j) ?: "");
        char kp[64], kk[64], ks[64];
        snprintf(kp, sizeof(kp), "processes.%zu.process_id", i);
        snprintf(kk, sizeof(kk), "processes.%zu.kind", i);
        snprintf(ks, sizeof(ks), "processes.%zu.state", i);
        const char *row[7] = { hearth_obj_str(l, kp) ?: "", hearth_obj_str(l, kk) ?: "", pidtxt,
                               hearth_obj_str(l, ks) ?: "", ex, age, cmd };
        if (out_table_add(&t, row) < 0) {
            r = cli_error(cli, CLI_EXIT_FAIL, "out of memory");
            break;
        }
    }
    out_table_finish(&t, stdout);
out:
    hearth_obj_free(sb);
    hearth_obj_free(l);
    return r;
}

int cmd_process_get(struct cli *cli, int argc, char **argv)
{
    hearth_obj *sb = NULL, *p = NULL;
    int r = sandbox(cli, argv[0], &sb);
    if (r)
        return r;
    struct hearth_error e;
    if (hearth_process_get(cli->client, hearth_obj_str(sb, "id"), argv[1], &p, &e) != HEARTH_OK) {
        r = cli_fail(cli, &e);
    } else if (cli->settings.json) {
        out_json(hearth_obj_json(p));
    } else {
        struct out_kv kv = { 0 };
        static const char *const keys[] = { "process_id", "kind", "state", "cmd", "cwd",
                                            "created_at", "finished_at", "signal" };
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            if (hearth_obj_str(p, keys[i]))
                out_kv_add(&kv, keys[i], "%s", hearth_obj_str(p, keys[i]));
        out_kv_add(&kv, "pid", "%lld", (long long)hearth_obj_int(p, "pid", 0));
        if (hearth_obj_has(p, "exit_code"))
            out_kv_add(&kv, "exit_code", "%lld", (long long)hearth_obj_int(p, "exit_code", 0));
        out_kv_add(&kv, "tree_exited", "%s", hearth_obj_bool(p, "tree_exited", false) ? "yes"
                                                                                   : "no");
        out_kv_add(&kv, "output", "seq %lld..%lld, %lld bytes",
                   (long long)hearth_obj_int(p, "output.oldest_seq", 0),
                   (long long)hearth_obj_int(p, "output.newest_seq", 0),
                   (long long)hearth_obj_int(p, "output.bytes", 0));
        out_kv_print(&kv, stdout);
    }
    hearth_obj_free(sb);
    hearth_obj_free(p);
    return r;
}

/* ---- input, close-stdin, resize, signal ---- */

int cmd_process_input(struct cli *cli, int argc, char **argv)
{
    const char *text = cli_value(&cli->args, "text"), *file = cli_value(&cli->args, "file");
    const char *b64 = cli_value(&cli->args, "base64");
    if (!!text + !!file + !!b64 != 1)
        return cli_usage_error(cli, "give exactly one of --text, --file, --base64");
    struct buf in;
    buf_init(&in, INPUT_MAX);
    int r = 0;
    if (text && buf_append(&in, text, strlen(text)) < 0)
        r = cli_error(cli, CLI_EXIT_USAGE, "--text is larger than 1 MiB");
    if (b64) {
        size_t n = strlen(b64);
        uint8_t *room = n <= B64_ENC_LEN(INPUT_MAX) ? buf_reserve(&in, B64_DEC_MAX(n) + 1, NULL)
                                                    : NULL;
        ssize_t got = room ? b64_decode(b64, n, room) : -EINVAL;
        if (got < 0 || (size_t)got > INPUT_MAX)
            r = cli_usage_error(cli, "--base64 is not base64 (or decodes to more than 1 MiB)");
        else
            buf_commit(&in, (size_t)got);
    }
    if (file) {
        int fd = strcmp(file, "-") == 0 ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
        int sr = fd < 0 ? -errno : buf_read_fd(&in, fd);
        if (fd > STDIN_FILENO)
            close(fd);
        if (sr < 0)
            r = cli_error(cli, CLI_EXIT_USAGE, "cannot read --file '%s': %s", file,
                          sr == -EMSGSIZE ? "larger than 1 MiB" : strerror(-sr));
    }
    hearth_obj *sb = NULL, *res = NULL;
    if (!r)
        r = sandbox(cli, argv[0], &sb);
    if (!r) {
        struct hearth_error e;
        if (hearth_process_input(cli->client, hearth_obj_str(sb, "id"), argv[1], in.data, in.len,
                                 &res, &e) != HEARTH_OK)
            r = cli_fail(cli, &e);
        else if (cli->settings.json)
            out_json(hearth_obj_json(res));
    }
    buf_release(&in);
    hearth_obj_free(sb);
    hearth_obj_free(res);
    return r;
}

/* One call on a process that answers {"ok":true}. */
static int simple(struct cli *cli, char **argv, int which, int a, int b, const char *s)
{
    hearth_obj *sb = NULL;
    int r = sandbox(cli, argv[0], &sb);
    if (r)
        return r;
    const char *id = hearth_obj_str(sb, "id");
    struct hearth_error e;
    int rc = which == 0   ? hearth_process_close_stdin(cli->client, id, argv[1], &e)
             : which == 1 ? hearth_process_resize(cli->client, id, argv[1], a, b, &e)
                          : hearth_process_signal(cli->client, id, argv[1], s, &e);
    if (rc != HEARTH_OK)
        r = cli_fail(cli, &e);
    else if (cli->settings.json)
        out_json("{\"ok\":true}");
    hearth_obj_free(sb);
    return r;
}

int cmd_process_close_stdin(struct cli *cli, int argc, char **argv)
{
    return simple(cli, argv, 0, 0, 0, NULL);
}

int cmd_process_resize(struct cli *cli, int argc, char **argv)
{
    int rows, cols, r;
    if (!cli_value(&cli->args, "rows") || !cli_value(&cli->args, "cols"))
        return cli_usage_error(cli, "--rows and --cols are both required");
    if ((r = size_flag(cli, "rows", 0, &rows)) || (r = size_flag(cli, "cols", 0, &cols)))
        return r;
    return simple(cli, argv, 1, rows, cols, NULL);
}

int cmd_process_signal(struct cli *cli, int argc, char **argv)
{
    char name[32];
    const char *s = argv[2];
    if (strlen(s) > 20)
        return cli_usage_error(cli, "unknown signal '%.20s'", s);
    snprintf(name, sizeof(name), "%s%s", strncmp(s, "SIG", 3) == 0 ? "" : "SIG", s);
    for (char *c = name; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
    /* the names docs/api.md §3.11.8 accepts: anything else is a usage error here */
    static const char *const known[] = { "SIGHUP", "SIGINT", "SIGQUIT", "SIGKILL", "SIGTERM",
                                         "SIGUSR1", "SIGUSR2", "SIGWINCH" };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(known[i], name) == 0)
            return simple(cli, argv, 2, 0, 0, name);
    return cli_usage_error(cli, "unknown signal '%s' (HUP, INT, QUIT, KILL, TERM, USR1, USR2, "
                                "WINCH)", s);
}

/* ---- wait, stop ---- */

int cmd_process_wait(struct cli *cli, int argc, char **argv)
{
    int64_t timeout;
    int r = duration_flag(cli, "timeout", -1, &timeout);
    if (r)
        return r;
    hearth_obj *sb = NULL, *p = NULL;
    if ((r = sandbox(cli, argv[0], &sb)))
        return r;
    r = wait_until(cli, hearth_obj_str(sb, "id"), argv[1], cli_flag(&cli->args, "all"), timeout,
                   &p);
    if (!r) {
        if (cli->settings.json)
            out_json(hearth_obj_json(p));
        r = exit_of(p);
    }
    hearth_obj_free(sb);
    hearth_obj_free(p);
    return r;
}

int cmd_process_stop(struct cli *cli, int argc, char **argv)
{
    int64_t grace;
    int r = duration_flag(cli, "grace", 1000, &grace);
    if (r)
        return r;
    if (grace > 60000)
        return cli_usage_error(cli, "--grace is at most 60s");
    char what[160];
    snprintf(what, sizeof(what), "This stops %.64s and everything it started", argv[1]);
    if ((r = cli_confirm(cli, what)))
        return r;
    hearth_obj *sb = NULL, *p = NULL;
    if ((r = sandbox(cli, argv[0], &sb)))
        return r;
    struct hearth_error e;
    if (hearth_process_delete(cli->client, hearth_obj_str(sb, "id"), argv[1], grace, &p, &e) !=
        HEARTH_OK)
        r = cli_fail(cli, &e);
    else if (cli->settings.json)
        out_json(hearth_obj_json(p));
    else
        printf("%s stopped\n", argv[1]);
    hearth_obj_free(sb);
    hearth_obj_free(p);
    return r;
}
