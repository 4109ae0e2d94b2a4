/* SPDX-License-Identifier: MIT */
/* cmd_template.c: `hearth template build|ls|show|logs|rm` (also under `hearth sb template`;
 * docs/cli.md), templates built from a Dockerfile. `build` with a context directory tars it
 * with the system tar (streamed, never whole in memory) and uploads it first; then it follows
 * the build log, printing the server's "Step N/M : …" lines prominently, and exits 0 when the
 * template is ready, 1 when it failed or was cancelled. */
#include "cli/commands.h"
#include "cli/output.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/values.h"
#include "common/timefmt.h"

#define DOCKERFILE_READ_MAX (1u << 20) /* the server takes 64 KiB; say so above this locally */
#define FOLLOW_RETRIES 5               /* a follow cut off before its final event is resumed */

const struct cli_opt cmd_template_submit_opts[] = {
    { "file", 'f', CLI_OPT_VALUE, NULL, NULL, "<path|->",
      "the Dockerfile (default: Dockerfile in CONTEXT_DIR or here; - reads stdin)" },
    CLI_VALUE("base", "<rootfs>", "must name the FROM image (a check)"),
    CLI_BOOL("no-cache", "run every step, reusing no cached layer"),
    CLI_VALUE("start-cmd", "<cmd>", "start this before the snapshot (runs in every sandbox)"),
    CLI_VALUE("ready-port", "<port>", "snapshot once this TCP port accepts connections"),
    CLI_VALUE("ready-file", "<path>", "snapshot once this file exists"),
    CLI_VALUE("ready-cmd", "<cmd>", "snapshot once this command exits 0"),
    CLI_VALUE("ready-delay", "<ms>", "snapshot this many milliseconds after the start"),
    CLI_VALUE("ready-timeout", "<seconds>", "how long the ready check may take (default 60)"),
    CLI_BOOL("no-follow", "return once the build is queued"),
    CLI_FLAG_QUIET,
    CLI_OPT_END,
};

const struct cli_opt cmd_template_show_opts[] = {
    CLI_BOOL("dockerfile", "print the Dockerfile source instead"),
    CLI_OPT_END,
};

const struct cli_opt cmd_template_logs_opts[] = {
    { "follow", 'f', CLI_OPT_BOOL, NULL, NULL, NULL, "keep printing until the build ends" },
    CLI_VALUE("attempt", "<n>", "only this attempt (from 1)"),
    CLI_OPT_END,
};

static void print_template(const hearth_obj *o)
{
    struct out_kv kv = { 0 };
    char t[64], size[32];
    out_kv_add(&kv, "id", "%s", hearth_obj_str(o, "id") ?: "");
    out_kv_add(&kv, "name", "%s", hearth_obj_str(o, "name") ?: "");
    out_kv_add(&kv, "base", "%s", hearth_obj_str(o, "base") ?: "");
    out_kv_add(&kv, "status", "%s", hearth_obj_str(o, "status") ?: "");
    int64_t attempt = hearth_obj_int(o, "attempt", 0);
    if (attempt > 0)
        out_kv_add(&kv, "attempt", "%lld", (long long)attempt);
    if (hearth_obj_str(o, "error"))
        out_kv_add(&kv, "error", "%s", hearth_obj_str(o, "error"));
    int64_t bytes = hearth_obj_int(o, "ext4_size_bytes", 0);
    if (bytes > 0) {
        out_bytes((uint64_t)bytes, size, sizeof(size));
        out_kv_add(&kv, "size", "%s", size);
    }
    if (hearth_obj_str(o, "context"))
        out_kv_add(&kv, "context", "%s", hearth_obj_str(o, "context"));
    if (hearth_obj_str(o, "start_cmd"))
        out_kv_add(&kv, "start cmd", "%s", hearth_obj_str(o, "start_cmd"));
    char *ready = hearth_obj_value_json(o, "ready");
    if (ready)
        out_kv_add(&kv, "ready", "%s", ready);
    free(ready);
    if (hearth_obj_bool(o, "no_cache", false))
        out_kv_add(&kv, "no cache", "yes");
    out_local_time(hearth_obj_str(o, "created_at"), t, sizeof(t));
    out_kv_add(&kv, "created", "%s", t);
    if (hearth_obj_str(o, "built_at")) {
        out_local_time(hearth_obj_str(o, "built_at"), t, sizeof(t));
        out_kv_add(&kv, "built", "%s", t);
    }
    out_kv_print(&kv, stdout);
}

/* ---- build ---- */

/* Reads the Dockerfile at path ("-": stdin) into a new string; NULL after printing why. */
static char *read_dockerfile(struct cli *cli, const char *path, size_t *ret_len)
{
    int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error(cli, CLI_EXIT_USAGE, "cannot read the Dockerfile %s: %s", path,
                  strerror(errno));
        return NULL;
    }
    char *buf = malloc(DOCKERFILE_READ_MAX + 1);
    size_t len = 0;
    int err = buf ? 0 : ENOMEM;
    while (buf && !err && len <= DOCKERFILE_READ_MAX) {
        ssize_t n = read(fd, buf + len, DOCKERFILE_READ_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            err = errno;
        else if (n == 0)
            break;
        else
            len += (size_t)n;
    }
    if (fd != 0)
        close(fd);
    if (!err && len > DOCKERFILE_READ_MAX)
        err = EFBIG;
    if (err) {
        free(buf);
        cli_error(cli, CLI_EXIT_USAGE, "cannot read the Dockerfile %s: %s", path,
                  err == EFBIG ? "larger than 1 MiB (the server takes 64 KiB)" : strerror(err));
        return NULL;
    }
    buf[len] = '\0';
    *ret_len = len;
    return buf;
}

/* Tars dir with `tar -C dir -cf - .` and streams it to the upload; *ret_id gets the context id
 * (at least 80 bytes). 0 or an exit code after printing why. */
static int upload_context(struct cli *cli, const char *dir, char *ret_id, size_t id_size)
{
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return cli_usage_error(cli, "%s is not a directory", dir);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return cli_error(cli, CLI_EXIT_FAIL, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return cli_error(cli, CLI_EXIT_FAIL, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        if (dup2(p[1], 1) < 0)
            _exit(127);
        execlp("tar", "tar", "-C", dir, "-cf", "-", ".", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    struct out_progress pr;
    out_progress_start(&pr, cli->stderr_tty, cli_flag(&cli->args, "quiet"),
                       "uploading the build context");
    hearth_client_set_progress(cli->client, out_progress_tick, &pr);
    hearth_obj *o = NULL;
    struct hearth_error e;
    int rc = hearth_template_context_upload_fd(cli->client, p[0], -1, &o, &e);
    hearth_client_set_progress(cli->client, NULL, NULL);
    close(p[0]); /* a tar still writing gets EPIPE and ends */
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    bool tar_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    out_progress_end(&pr, rc == HEARTH_OK && tar_ok, "build context uploaded");
    if (rc != HEARTH_OK)
        return cli_fail(cli, &e);
    const char *id = hearth_obj_str(o, "id");
    if (!tar_ok || !id) {
        hearth_obj_free(o);
        return cli_error(cli, CLI_EXIT_FAIL, "tar of %s failed (%s)", dir,
                         WIFEXITED(status) && WEXITSTATUS(status) == 127 ? "no tar command"
                                                                         : "see above");
    }
    snprintf(ret_id, id_size, "%s", id);
    hearth_obj_free(o);
    return 0;
}

/* --ready-* into body.ready; 0 or a usage error. */
static int ready_flags(struct cli *cli, hearth_body *b)
{
    static const char *const kinds[] = { "ready-port", "ready-file", "ready-cmd",
                                         "ready-delay" };
    const char *which = NULL, *v = NULL;
    for (size_t i = 0; i < 4; i++) {
        const char *x = cli_value(&cli->args, kinds[i]);
        if (x && which)
            return cli_usage_error(cli, "--%s and --%s exclude each other", which, kinds[i]);
        if (x) {
            which = kinds[i];
            v = x;
        }
    }
    const char *timeout = cli_value(&cli->args, "ready-timeout");
    if (!which) {
        if (timeout)
            return cli_usage_error(cli, "--ready-timeout needs one of --ready-port, "
                                        "--ready-file, --ready-cmd or --ready-delay");
        return 0;
    }
    int64_t n = 0;
    int rc;
    if (strcmp(which, "ready-port") == 0) {
        if (cli_parse_count(v, 65535, &n) < 0 || n < 1)
            return cli_usage_error(cli, "--ready-port must be from 1 to 65535");
        rc = hearth_body_set_map_int(b, "ready", "port", n);
    } else if (strcmp(which, "ready-delay") == 0) {
        if (cli_parse_count(v, 600000, &n) < 0 || n < 1)
            return cli_usage_error(cli, "--ready-delay must be from 1 to 600000 (ms)");
        rc = hearth_body_set_map_int(b, "ready", "delay_ms", n);
    } else {
        rc = hearth_body_set_map(b, "ready", which[6] == 'f' ? "file" : "command", v);
    }
    if (rc == HEARTH_OK && timeout) {
        if (cli_parse_count(timeout, 600, &n) < 0 || n < 1)
            return cli_usage_error(cli, "--ready-timeout must be from 1 to 600 (seconds)");
        rc = hearth_body_set_map_int(b, "ready", "timeout_seconds", n);
    }
    return rc == HEARTH_OK ? 0 : cli_usage_error(cli, "--%s is not UTF-8 text", which);
}

/* What the log follower prints: "Step" lines stand out (bold on a terminal). */
struct follow_out {
    FILE *f;
    bool bold;
    bool json_raw;                  /* `logs -f --json`: the NDJSON lines unchanged */
};

static bool on_event(void *ud, const struct hearth_tpl_event *ev)
{
    struct follow_out *o = ud;
    if (o->json_raw) {
        if (ev->kind != HEARTH_TPL_UNKNOWN) {
            fwrite(ev->raw, 1, ev->raw_len, o->f);
            fputc('\n', o->f);
        }
    } else if (ev->kind == HEARTH_TPL_LINE) {
        bool step = strncmp(ev->line, "Step ", 5) == 0;
        if (step && o->bold)
            fprintf(o->f, "\033[1m%s\033[0m\n", ev->line);
        else if (step)
            fprintf(o->f, "==> %s\n", ev->line);
        else
            fprintf(o->f, "%s%s\n", ev->error ? "error: " : "", ev->line);
    }
    fflush(o->f);
    return true;
}

/* Follows ref's log to its final event into status (16 bytes); a stream cut off early is
 * resumed a few times. 0 or an exit code after printing why. */
static int follow_build(struct cli *cli, const char *ref, int attempt, struct follow_out *fo,
                        char status[16])
{
    struct hearth_error e;
    for (int i = 0;; i++) {
        status[0] = '\0';
        int rc = hearth_template_follow(cli->client, ref, attempt, on_event, fo, status, &e);
        if (rc != HEARTH_OK && ((rc != HEARTH_ERR_CONNECT && rc != HEARTH_ERR_TIMEOUT) || i >= FOLLOW_RETRIES))
            return cli_fail(cli, &e);
        if (status[0])
            return 0;
        if (i >= FOLLOW_RETRIES)
            return cli_error(cli, CLI_EXIT_FAIL, "the build log ended without a final status");
        /* the replay repeats lines already printed: better twice than missing */
    }
}

static bool colour(const struct cli *cli, bool tty)
{
    const char *nc = getenv("NO_COLOR");
    return tty && !(nc && *nc) && !cli->settings.json;
}

int cmd_template_submit(struct cli *cli, int argc, char **argv)
{
    const char *name = argv[0], *dir = argc > 1 ? argv[1] : NULL;
    const char *file = cli_value(&cli->args, "file");
    char dflt[4096];
    if (!file) {
        snprintf(dflt, sizeof(dflt), "%s/Dockerfile", dir ? dir : ".");
        file = dflt;
    }
    hearth_body *b = hearth_body_new();
    if (!b)
        return cli_error(cli, CLI_EXIT_FAIL, "out of memory");
    int r = ready_flags(cli, b);
    size_t len = 0;
    char *df = r ? NULL : read_dockerfile(cli, file, &len);
    if (!df) {
        hearth_body_free(b);
        return r ? r : CLI_EXIT_USAGE;
    }
    char ctx[96] = "";
    if (dir && (r = upload_context(cli, dir, ctx, sizeof(ctx))) != 0) {
        free(df);
        hearth_body_free(b);
        return r;
    }
    const char *base = cli_value(&cli->args, "base");
    const char *start = cli_value(&cli->args, "start-cmd");
    int rc = hearth_body_set_str(b, "name", name);
    if (rc == HEARTH_OK)
        rc = hearth_body_set_strn(b, "dockerfile", df, len);
    if (rc == HEARTH_OK && base)
        rc = hearth_body_set_str(b, "base", base);
    if (rc == HEARTH_OK && ctx[0])
        rc = hearth_body_set_str(b, "context", ctx);
    if (rc == HEARTH_OK && start)
        rc = hearth_body_set_str(b, "start_cmd", start);
    if (rc == HEARTH_OK && cli_flag(&cli->args, "no-cache"))
        rc = hearth_body_set_bool(b, "no_cache", true);
    free(df);
    if (rc != HEARTH_OK) {
        hearth_body_free(b);
        return cli_usage_error(cli, "the name, Dockerfile, --base or --start-cmd is not UTF-8 "
                                    "text");
    }
    hearth_obj *o = NULL;
    struct hearth_error e;
    rc = hearth_template_create(cli->client, b, &o, &e);
    hearth_body_free(b);
    if (rc != HEARTH_OK)
        return cli_fail(cli, &e);
    char id[64];
    snprintf(id, sizeof(id), "%s", hearth_obj_str(o, "id") ?: name);
    if (cli_flag(&cli->args, "no-follow")) {
        if (cli->settings.json)
            out_json(hearth_obj_json(o));
        else if (cli_flag(&cli->args, "quiet"))
            printf("%s\n", id);
        else
            print_template(o);
        hearth_obj_free(o);
        return CLI_EXIT_OK;
    }
    hearth_obj_free(o);
    if (!cli_flag(&cli->args, "quiet"))
        fprintf(stderr, "template %s (%s) queued; following its build log\n", id, name);
    /* JSON mode keeps stdout for the one final document: the log goes to stderr */
    struct follow_out fo = { .f = cli->settings.json || cli_flag(&cli->args, "quiet") ? stderr
                                                                                      : stdout };
    fo.bold = colour(cli, fo.f == stdout ? cli->stdout_tty : cli->stderr_tty);
    char status[16];
    if ((r = follow_build(cli, id, 0, &fo, status)) != 0)
        return r;
    o = NULL;
    rc = hearth_template_get(cli->client, id, false, &o, &e);
    if (rc != HEARTH_OK)
        return cli_fail(cli, &e);
    bool ok = strcmp(status, "ready") == 0;
    if (cli->settings.json) {
        out_json(hearth_obj_json(o));
    } else if (cli_flag(&cli->args, "quiet")) {
        if (ok)
            printf("%s\n", id);
    } else if (ok) {
        fprintf(stderr, "✓ template %s (%s) ready\n", name, id);
    } else {
        const char *why = hearth_obj_str(o, "error");
        fprintf(stderr, "✗ template %s (%s) %s%s%s\n", name, id, status, why ? ": " : "",
                why ? why : "");
    }
    hearth_obj_free(o);
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* ---- ls, show, logs, rm ---- */

int cmd_template_ls(struct cli *cli, int argc, char **argv)
{
    struct hearth_page page;
    int r = cli_page_flags(cli, &page);
    if (r)
        return r;
    hearth_list *l = NULL;
    struct hearth_error e;
    if (hearth_template_list(cli->client, &page, &l, &e) != HEARTH_OK)
        return cli_fail(cli, &e);
    size_t n = hearth_list_count(l);
    if (!cli_list_short(cli, l, "id")) {
        static const char *const hdr[] = { "id", "name", "base", "status", "size", "created" };
        struct out_table t;
        out_table_init(&t, 6, hdr);
        int64_t now = timefmt_now_ms();
        for (size_t i = 0; i < n; i++) {
            const hearth_obj *o = hearth_list_item(l, i);
            char age[32], size[32] = "-";
            out_age(hearth_obj_str(o, "created_at"), now, age, sizeof(age));
            int64_t bytes = hearth_obj_int(o, "ext4_size_bytes", 0);
            if (bytes > 0)
                out_bytes((uint64_t)bytes, size, sizeof(size));
            const char *row[] = { hearth_obj_str(o, "id"), hearth_obj_str(o, "name"),
                                  hearth_obj_str(o, "base"), hearth_obj_str(o, "status"), size,
                                  age };
            (void)out_table_add(&t, row); /* out of memory: the row is missing, nothing else */
        }
        out_table_finish(&t, stdout);
    }
    hearth_list_free(l);
    return CLI_EXIT_OK;
}

int cmd_template_show(struct cli *cli, int argc, char **argv)
{
    bool df = cli_flag(&cli->args, "dockerfile");
    hearth_obj *o = NULL;
    struct hearth_error e;
    if (hearth_template_get(cli->client, argv[0], df, &o, &e) != HEARTH_OK)
        return cli_fail(cli, &e);
    if (cli->settings.json) {
        out_json(hearth_obj_json(o));
    } else if (df) {
        const char *src = hearth_obj_str(o, "dockerfile") ?: "";
        size_t n = strlen(src);
        fwrite(src, 1, n, stdout);
        if (n && src[n - 1] != '\n')
            putchar('\n');
    } else {
        print_template(o);
    }
    hearth_obj_free(o);
    return CLI_EXIT_OK;
}

int cmd_template_logs(struct cli *cli, int argc, char **argv)
{
    const char *a = cli_value(&cli->args, "attempt");
    int64_t attempt = 0;
    if (a && (cli_parse_count(a, INT32_MAX, &attempt) < 0 || attempt < 1))
        return cli_usage_error(cli, "--attempt must be an attempt number (1, 2, …)");
    if (!cli_flag(&cli->args, "follow")) {
        fflush(stdout);
        struct hearth_error e;
        if (hearth_template_logs(cli->client, argv[0], (int)attempt, 1, &e) != HEARTH_OK)
            return cli_fail(cli, &e);
        return CLI_EXIT_OK;
    }
    struct follow_out fo = { .f = stdout, .json_raw = cli->settings.json };
    fo.bold = colour(cli, cli->stdout_tty);
    char status[16];
    int r = follow_build(cli, argv[0], (int)attempt, &fo, status);
    if (r == 0 && !cli->settings.json)
        fprintf(stderr, "build %s\n", status);
    return r;
}

static int remove_one(struct cli *cli, const char *ref, hearth_obj **ret_obj, size_t *ret_n,
                      struct hearth_error *e)
{
    int rc = hearth_template_get(cli->client, ref, false, ret_obj, e);
    if (rc != HEARTH_OK)
        return cli_exit_for(rc);
    const char *id = hearth_obj_str(*ret_obj, "id");
    rc = hearth_template_delete(cli->client, id ? id : ref, NULL, e);
    return cli_exit_for(rc);
}

int cmd_template_rm(struct cli *cli, int argc, char **argv)
{
    char what[160];
    snprintf(what, sizeof(what), "delete %d template%s (a build in progress is cancelled; "
                                 "sandboxes made from it keep working)",
             argc, argc == 1 ? "" : "s");
    return cli_rm_batch(cli, argc, argv, what, "template", "sandbox", remove_one);
}
