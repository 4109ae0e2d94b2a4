/* SPDX-License-Identifier: MIT */
/* cmd_sandbox_lifecycle.c: `hearth sb pause|resume|fork|wait` (docs/cli.md §7.1): one API call,
 * then a wait for the target state with a progress line (§4, §6.2). The polling itself is
 * libhearth's hearth_sandbox_wait(); this file parses flags, prints and picks exit codes. */
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/values.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS (5L * 60 * 1000)
#define FORK_COUNT_MAX 100

const struct cli_opt cmd_sandbox_pause_opts[] = {
    CLI_FLAGS_WAIT,
    CLI_FLAG_QUIET,
    CLI_OPT_END,
};

const struct cli_opt cmd_sandbox_fork_opts[] = {
    CLI_BOOL("paused", "leave the children paused"),
    CLI_VALUE("name", "<name>", "the child's name (suffixed -1, -2, ... with --count)"),
    CLI_LIST("ssh-key", "<path>", "SSH public key file (replaces the inherited keys)"),
    CLI_LIST("egress", "<rule>", "allowed destination (replaces the inherited rules)"),
    CLI_LIST("disk", "<ref>:<mount>[:<sub>]",
             "mount an S3 disk in the child (mounts are not inherited)"),
    CLI_VALUE("count", "<n>", "number of children, 1 to 100 (default 1)"),
    CLI_FLAGS_WAIT,
    CLI_FLAG_QUIET,
    CLI_OPT_END,
};

const struct cli_opt cmd_sandbox_wait_opts[] = {
    CLI_VALUE("for", "running|paused|destroyed", "the state to wait for (default running)"),
    CLI_VALUE("timeout", "<duration>", "how long to wait (default 5m; exit 6 when over)"),
    CLI_FLAG_QUIET,
    CLI_OPT_END,
};

/* --timeout (default 5m) into *ret_ms; with_no_wait: the command also has --no-wait. Returns 0
 * or the usage error's exit code. */
static int timeout_flag(struct cli *cli, bool with_no_wait, long *ret_ms)
{
    const char *v = cli_value(&cli->args, "timeout");
    *ret_ms = DEFAULT_TIMEOUT_MS;
    if (!v)
        return 0;
    if (with_no_wait && cli_flag(&cli->args, "no-wait"))
        return cli_usage_error(cli, "--no-wait and --timeout exclude each other");
    int64_t ms;
    if (cli_parse_duration_ms(v, &ms) < 0 || ms <= 0)
        return cli_usage_error(cli, "--timeout '%.40s' is not a duration above zero, e.g. 90s "
                                    "or 10m",
                               v);
    *ret_ms = (long)ms;
    return 0;
}

static void print_view(const hearth_obj *o, bool fork)
{
    struct out_kv kv = { 0 };
    out_kv_add(&kv, "id", "%s", hearth_obj_str(o, "id") ?: "");
    out_kv_add(&kv, "name", "%s", hearth_obj_str(o, "name") ?: "");
    out_kv_add(&kv, "status", "%s", hearth_obj_str(o, "status") ?: "");
    out_kv_add(&kv, "ip", "%s", hearth_obj_str(o, "ip") ?: "");
    if (fork) {
        if (hearth_obj_bool(o, "ingress_enabled", false))
            out_kv_add(&kv, "ingress", "%s", hearth_obj_str(o, "ingress_url_template") ?: "on");
        else
            out_kv_add(&kv, "ingress", "off");
        out_kv_add(&kv, "forked from", "%s", hearth_obj_str(o, "forked_from") ?: "");
    }
    out_kv_print(&kv, stdout);
}

/* The sandbox a pause, resume or wait ended with: its JSON, or its short view. */
static void show_final(struct cli *cli, const hearth_obj *final)
{
    if (cli->settings.json)
        out_json(hearth_obj_json(final));
    else
        print_view(final, false);
}

/* The progress line follows the statuses the wait observes: "sb-01J… resuming". */
struct watch {
    struct out_progress *p;
    const char *id;
};

static void on_status(void *ud, const char *status)
{
    struct watch *w = ud;
    char line[160];
    snprintf(line, sizeof(line), "%s %s", w->id, status);
    out_progress_set(w->p, line);
}

/* Waits for id to reach target within timeout_ms, the first poll after first_poll_ms. On
 * success *ret receives the final view; otherwise the error is printed (with a hint on a
 * timeout) and its exit code returned. */
static int await(struct cli *cli, struct out_progress *p, const char *id, const char *ref,
                 const char *target, long first_poll_ms, long timeout_ms, hearth_obj **ret)
{
    struct watch wt = { .p = p, .id = id };
    struct hearth_wait w = { .target = target, .timeout_ms = timeout_ms,
                             .first_poll_ms = first_poll_ms, .on_status = on_status,
                             .userdata = &wt };
    struct hearth_error e;
    hearth_client_set_progress(cli->client, out_progress_tick, p);
    int rc = hearth_sandbox_wait(cli->client, id, &w, ret, &e);
    hearth_client_set_progress(cli->client, NULL, NULL);
    if (rc == HEARTH_OK)
        return 0;
    out_progress_end(p, false, NULL);
    int r = cli_fail(cli, &e);
    if (rc == HEARTH_ERR_TIMEOUT && !cli->settings.json)
        fprintf(stderr, "hint: hearth sb wait %s --for %s --timeout 10m\n", ref, target);
    return r;
}

/* The progress line of a pause, resume or wait: "<id> <state>". */
static void progress_start(struct cli *cli, struct out_progress *p, const char *id,
                           const char *state)
{
    char what[160];
    snprintf(what, sizeof(what), "%s %s", id, state);
    out_progress_start(p, cli->stderr_tty, cli_flag(&cli->args, "quiet") || cli->settings.json,
                       what);
}

/* Ends a pause, resume or wait: when done (no waiting wanted), the sandbox as the call left it,
 * *have, is the result (taken over; reached says whether it is at target), else the sandbox
 * waited for until it is. Shows the result. Returns the exit code. */
static int settle(struct cli *cli, struct out_progress *p, const char *id, const char *ref,
                  const char *target, bool done, bool reached, long poll_after_ms,
                  long timeout_ms, hearth_obj **have)
{
    hearth_obj *final = NULL;
    if (done) {
        final = *have;
        *have = NULL;
    } else {
        int r = await(cli, p, id, ref, target, poll_after_ms, timeout_ms, &final);
        if (r)
            return r;
        reached = true;
    }
    out_progress_end(p, reached, target);
    show_final(cli, final);
    hearth_obj_free(final);
    return CLI_EXIT_OK;
}

/* pause and resume: POST, then wait unless --no-wait or the server said it is already there. */
static int pause_or_resume(struct cli *cli, const char *ref, bool pause)
{
    const char *target = pause ? "paused" : "running";
    long timeout_ms;
    int r = timeout_flag(cli, true, &timeout_ms);
    if (r)
        return r;
    hearth_obj *sb = NULL, *view = NULL;
    r = cli_sandbox_resolve(cli, ref, &sb);
    if (r)
        return r;
    const char *id = hearth_obj_str(sb, "id");
    struct out_progress p;
    progress_start(cli, &p, id, pause ? "pausing" : "resuming");
    struct hearth_async as = { 0 };
    struct hearth_error e;
    hearth_client_set_progress(cli->client, out_progress_tick, &p);
    int rc = pause ? hearth_sandbox_pause(cli->client, id, &view, &as, &e)
                   : hearth_sandbox_resume(cli->client, id, &view, &as, &e);
    hearth_client_set_progress(cli->client, NULL, NULL);
    if (rc != HEARTH_OK) {
        out_progress_end(&p, false, NULL);
        r = cli_fail(cli, &e);
        goto out;
    }
    const char *status = hearth_obj_str(view, "status");
    bool there = status && strcmp(status, target) == 0;
    r = settle(cli, &p, id, ref, target, there || cli_flag(&cli->args, "no-wait"), there,
               as.poll_after_ms, timeout_ms, &view);
out:
    hearth_obj_free(sb);
    hearth_obj_free(view);
    return r;
}

int cmd_sandbox_pause(struct cli *cli, int argc, char **argv)
{
    return pause_or_resume(cli, argv[0], true);
}

int cmd_sandbox_resume(struct cli *cli, int argc, char **argv)
{
    return pause_or_resume(cli, argv[0], false);
}

/* Builds the fork body shared by every child (the name is set per child). */
static int fork_body(struct cli *cli, hearth_body **ret)
{
    hearth_body *b = hearth_body_new();
    if (!b)
        return cli_error(cli, CLI_EXIT_FAIL, "out of memory");
    int r = 0;
    if (cli_flag(&cli->args, "paused") && hearth_body_set_bool(b, "start_paused", true) != 0)
        r = cli_error(cli, CLI_EXIT_FAIL, "out of memory");
    if (!r)
        r = cli_ssh_key_flags(cli, b);
    if (!r)
        r = cli_egress_flags(cli, b);
    if (!r)
        r = cli_disk_flags(cli, b);
    if (r) {
        hearth_body_free(b);
        return r;
    }
    *ret = b;
    return 0;
}

/* One POST …/fork for child i (0-based) of n. Returns 0 or an exit code after printing. */
static int fork_one(struct cli *cli, const char *src_id, const char *ref, hearth_body *b,
                    size_t i, size_t n, hearth_obj **ret, struct hearth_async *ret_async)
{
    const char *name = cli_value(&cli->args, "name");
    if (name) {
        char *child = NULL;
        if (n > 1 ? asprintf(&child, "%s-%zu", name, i + 1) < 0 : !(child = strdup(name)))
            return cli_error(cli, CLI_EXIT_FAIL, "out of memory");
        int rc = hearth_body_set_str(b, "name", child);
        free(child);
        if (rc != HEARTH_OK)
            return rc == HEARTH_ERR_INVALID
                       ? cli_usage_error(cli, "--name is not valid UTF-8 text")
                       : cli_error(cli, CLI_EXIT_FAIL, "out of memory");
    }
    struct hearth_error e;
    if (hearth_sandbox_fork(cli->client, src_id, b, ret, ret_async, &e) == HEARTH_OK)
        return 0;
    int r = cli_fail(cli, &e);
    if (!cli->settings.json && strcmp(e.api_code, "invalid_state") == 0 &&
        strcmp(e.state, "running") == 0) /* a running source forks live unless it is busy */
        fprintf(stderr, "hint: the source is busy (a pause or another fork of it); retry\n");
    return r;
}

int cmd_sandbox_fork(struct cli *cli, int argc, char **argv)
{
    int64_t count = 1;
    const char *v = cli_value(&cli->args, "count");
    if (v && (cli_parse_count(v, FORK_COUNT_MAX, &count) < 0 || count < 1))
        return cli_usage_error(cli, "--count '%.40s' is not a number from 1 to %d", v,
                               FORK_COUNT_MAX);
    long timeout_ms;
    int r = timeout_flag(cli, true, &timeout_ms);
    if (r)
        return r;
    hearth_body *b = NULL;
    if ((r = fork_body(cli, &b)))
        return r;
    size_t n = (size_t)count;
    hearth_obj *src = NULL;
    hearth_obj **kids = calloc(n, sizeof(*kids));
    long *first_poll = calloc(n, sizeof(*first_poll));
    if (!kids || !first_poll) {
        r = cli_error(cli, CLI_EXIT_FAIL, "out of memory");
        goto out;
    }
    if ((r = cli_sandbox_resolve(cli, argv[0], &src)))
        goto out;
    const char *src_id = hearth_obj_str(src, "id");
    const char *target = cli_flag(&cli->args, "paused") ? "paused" : "running";
    bool quiet = cli_flag(&cli->args, "quiet") || cli->settings.json;
    char what[160];
    if (n > 1)
        snprintf(what, sizeof(what), "%s forking (1 of %zu)", src_id, n);
    else
        snprintf(what, sizeof(what), "%s forking", src_id);
    struct out_progress p;
    out_progress_start(&p, cli->stderr_tty, quiet, what);

    /* the children one after another, then the waits: their copies and boots overlap */
    size_t made = 0;
    uint64_t start = out_now_us();
    for (; made < n; made++) {
        snprintf(what, sizeof(what), "%s forking (%zu of %zu)", src_id, made + 1, n);
        if (n > 1)
            out_progress_set(&p, what);
        struct hearth_async as = { 0 };
        hearth_client_set_progress(cli->client, out_progress_tick, &p);
        r = fork_one(cli, src_id, argv[0], b, made, n, &kids[made], &as);
        hearth_client_set_progress(cli->client, NULL, NULL);
        if (r) {
            out_progress_end(&p, false, NULL);
            break;
        }
        first_poll[made] = as.poll_after_ms;
    }
    for (size_t i = 0; !r && !cli_flag(&cli->args, "no-wait") && i < made; i++) {
        const char *status = hearth_obj_str(kids[i], "status");
        if (status && strcmp(status, target) == 0)
            continue;
        long spent = (long)((out_now_us() - start) / 1000);
        long left = timeout_ms > spent ? timeout_ms - spent : 1;
        hearth_obj *final = NULL;
        const char *kid = hearth_obj_str(kids[i], "id") ?: "";
        r = await(cli, &p, kid, kid, target, first_poll[i], left, &final);
        if (!r) {
            hearth_obj_free(kids[i]);
            kids[i] = final;
        }
    }
    if (!r) {
        char done[64];
        snprintf(done, sizeof(done), "%zu %s %s", made, made == 1 ? "child" : "children",
                 cli_flag(&cli->args, "no-wait") ? "forked" : target);
        out_progress_end(&p, true, done);
    }
    /* what exists is printed even after a failure, so its ids can be cleaned up */
    if (cli->settings.json && made > 0) {
        if (n > 1)
            fputc('[', stdout);
        for (size_t i = 0; i < made; i++)
            printf("%s%s", i ? "," : "", hearth_obj_json(kids[i]));
        fputs(n > 1 ? "]\n" : "\n", stdout);
    } else if (!cli->settings.json) {
        for (size_t i = 0; i < made; i++) {
            if (i)
                fputc('\n', stdout);
            print_view(kids[i], true);
        }
    }
    /* docs/cli.md §5: a batch with a failed item is 1, except that a timeout stays 6 */
    if (r && made > 0 && r != CLI_EXIT_TIMEOUT && r != CLI_EXIT_INTERRUPTED)
        r = CLI_EXIT_FAIL;
out:
    for (size_t i = 0; kids && i < n; i++)
        hearth_obj_free(kids[i]);
    free(kids);
    free(first_poll);
    hearth_obj_free(src);
    hearth_body_free(b);
    return r;
}

int cmd_sandbox_wait(struct cli *cli, int argc, char **argv)
{
    const char *target = cli_value(&cli->args, "for");
    if (!target)
        target = "running";
    if (strcmp(target, "running") != 0 && strcmp(target, "paused") != 0 &&
        strcmp(target, "destroyed") != 0)
        return cli_usage_error(cli, "--for '%.40s' is not running, paused or destroyed", target);
    long timeout_ms;
    int r = timeout_flag(cli, false, &timeout_ms);
    if (r)
        return r;
    hearth_obj *sb = NULL;
    if ((r = cli_sandbox_resolve(cli, argv[0], &sb)))
        return r;
    const char *id = hearth_obj_str(sb, "id") ?: "";
    const char *status = hearth_obj_str(sb, "status") ?: "";
    struct out_progress p;
    progress_start(cli, &p, id, status);
    r = settle(cli, &p, id, argv[0], target, strcmp(status, target) == 0, true, 0, timeout_ms,
               &sb);
    hearth_obj_free(sb);
    return r;
}
