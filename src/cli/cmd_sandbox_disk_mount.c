/* SPDX-License-Identifier: MIT */
/* cmd_sandbox_disk_mount.c: a sandbox's disk mounts (docs/cli.md §7.4): `hearth sb disk attach`,
 * which waits until the mount is `mounted` (exit 1 on `error` with its mount_error), `detach`, and
 * `ls --sandbox`. The wait polls the sandbox's mount list as docs/cli.md §6.2 describes. */
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/values.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ATTACH_TIMEOUT_MS 45000L

const struct cli_opt cmd_disk_attach_opts[] = {
    CLI_VALUE("sub-path", "<prefix>", "mount only this key prefix of the bucket"),
    CLI_BOOL("no-wait", "return once the server accepted the request"),
    CLI_VALUE("timeout", "<duration>", "how long to wait for the mount (default 45s; exit 6)"),
    CLI_FLAG_QUIET,
    CLI_OPT_END,
};

const struct cli_opt cmd_disk_detach_opts[] = {
    { "yes", 'y', CLI_OPT_BOOL, "force", NULL, NULL, "do not ask for confirmation" },
    CLI_BOOL("no-wait", "return once the server accepted the request (the mount is unmounting)"),
    CLI_VALUE("timeout", "<duration>", "how long to wait for the unmount (default 45s; exit 6)"),
    CLI_FLAG_QUIET,
    CLI_OPT_END,
};

/* --no-wait into *ret_no_wait and --timeout (default 45 s) into *ret_ms; 0 or a usage error. */
static int wait_flags(struct cli *cli, bool *ret_no_wait, long *ret_ms)
{
    *ret_no_wait = cli_flag(&cli->args, "no-wait");
    *ret_ms = ATTACH_TIMEOUT_MS;
    const char *v = cli_value(&cli->args, "timeout");
    if (v && *ret_no_wait)
        return cli_usage_error(cli, "--no-wait and --timeout exclude each other");
    if (v) {
        int64_t ms;
        if (cli_parse_duration_ms(v, &ms) < 0 || ms <= 0 || ms > 86400000)
            return cli_usage_error(cli, "--timeout '%.40s' is not a duration from 1ms to 24h", v);
        *ret_ms = (long)ms;
    }
    return 0;
}

/* The mount of disk ref (id or name) at path in l, borrowed; NULL when absent. */
static const hearth_obj *find_mount(const hearth_list *l, const char *ref, const char *path)
{
    for (size_t i = 0; i < hearth_list_count(l); i++) {
        const hearth_obj *m = hearth_list_item(l, i);
        const char *id = hearth_obj_str(m, "disk_id"), *name = hearth_obj_str(m, "name");
        const char *mp = hearth_obj_str(m, "mount_path");
        if (mp && strcmp(mp, path) == 0 && ((id && strcmp(id, ref) == 0) ||
                                            (name && strcmp(name, ref) == 0)))
            return m;
    }
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Polls the mounts of sandbox id until disk ref at path is mounted (0, *ret_json a copy of its
 * SandboxDisk JSON or NULL), in error (exit 1), or timeout_ms passed (exit 6). With gone, until
 * the mount is no longer listed instead (a detach: `unmounting`, then the row is removed). */
static int await_mount(struct cli *cli, struct out_progress *p, const char *id, const char *ref,
                       const char *path, long timeout_ms, bool gone, char **ret_json)
{
    uint64_t start = out_now_us();
    long interval = 250;
    char last[32] = "";
    for (;;) {
        hearth_list *l = NULL;
        struct hearth_error e;
        struct hearth_page page = { .limit = 500 };
        if (hearth_sandbox_disk_list(cli->client, id, &page, &l, &e) != HEARTH_OK) {
            out_progress_end(p, false, NULL);
            return cli_fail(cli, &e);
        }
        const hearth_obj *m = find_mount(l, ref, path);
        const char *st = m ? hearth_obj_str(m, "mount_status") : NULL;
        if (st && strcmp(st, last) != 0) {
            char line[160];
            snprintf(line, sizeof(line), "%.60s at %.80s %s", ref, path, st);
            out_progress_set(p, line);
        }
        snprintf(last, sizeof(last), "%s", st ? st : "no such mount");
        if (gone && !m) {
            hearth_list_free(l);
            out_progress_end(p, true, "unmounted");
            return 0;
        }
        if (!gone && st && strcmp(st, "mounted") == 0) {
            *ret_json = strdup(hearth_obj_json(m)); /* list items are borrowed */
            hearth_list_free(l);
            out_progress_end(p, true, "mounted");
            return 0;
        }
        if (!gone && st && strcmp(st, "error") == 0) {
            out_progress_end(p, false, NULL);
            int r = cli_error(cli, CLI_EXIT_FAIL, "mounting %s at %s failed: %s", ref, path,
                              hearth_obj_str(m, "mount_error") ?: "unknown error");
            hearth_list_free(l);
            return r;
        }
        hearth_list_free(l);
        uint64_t spent_ms = (out_now_us() - start) / 1000;
        if ((long)spent_ms >= timeout_ms) {
            out_progress_end(p, false, NULL);
            int r = cli_error(cli, CLI_EXIT_TIMEOUT, "%s at %s is not %s after %.1fs (%s)",
                              ref, path, gone ? "unmounted" : "mounted",
                              (double)timeout_ms / 1000, last);
            if (!cli->settings.json)
                fprintf(stderr, "hint: hearth sb disk ls --sandbox %s\n", id);
            return r;
        }
        long left = timeout_ms - (long)spent_ms;
        sleep_ms(interval < left ? interval : left);
        (void)out_progress_tick(p);
        if (spent_ms > 5000) /* docs/cli.md §6.2: ×1.25 per poll after 5 s, at most 2 s */
            interval = interval * 5 / 4 > 2000 ? 2000 : interval * 5 / 4;
    }
}

int cmd_disk_attach(struct cli *cli, int argc, char **argv)
{
    const char *ref = argv[1], *path = argv[2];
    const char *sub = cli_value(&cli->args, "sub-path");
    bool no_wait;
    long timeout_ms;
    int r = wait_flags(cli, &no_wait, &timeout_ms);
    if (r)
        return r;
    if (path[0] != '/')
        return cli_usage_error(cli, "mount path '%.80s' is not absolute", path);
    hearth_obj *sb = NULL, *o = NULL;
    r = cli_sandbox_resolve(cli, argv[0], &sb);
    if (r)
        return r;
    const char *id = hearth_obj_str(sb, "id");
    struct hearth_error e;
    int rc = hearth_sandbox_disk_attach(cli->client, id, ref, path, sub, &o, &e);
    if (rc != HEARTH_OK) {
        r = cli_fail(cli, &e);
    } else if (no_wait) {
        if (cli->settings.json)
            out_json(hearth_obj_json(o));
        else
            printf("%s: attaching %s at %s (hearth sb disk ls --sandbox %s)\n", id, ref, path,
                   id);
    } else {
        struct out_progress p;
        char what[160];
        snprintf(what, sizeof(what), "%.60s at %.80s pending", ref, path);
        out_progress_start(&p, cli->stderr_tty,
                           cli_flag(&cli->args, "quiet") || cli->settings.json, what);
        char *json = NULL;
        r = await_mount(cli, &p, id, ref, path, timeout_ms, false, &json);
        if (!r && cli->settings.json)
            out_json(json ? json : "{}");
        else if (!r)
            printf("%s: %s mounted at %s\n", id, ref, path);
        free(json);
    }
    hearth_obj_free(sb);
    hearth_obj_free(o);
    return r;
}

int cmd_disk_detach(struct cli *cli, int argc, char **argv)
{
    bool no_wait;
    long timeout_ms;
    int r = wait_flags(cli, &no_wait, &timeout_ms);
    if (r)
        return r;
    char what[256];
    snprintf(what, sizeof(what), "unmount disk '%.80s' from %.80s in '%.60s'", argv[1], argv[2],
             argv[0]);
    if ((r = cli_confirm(cli, what)))
        return r;
    hearth_obj *sb = NULL, *o = NULL;
    r = cli_sandbox_resolve(cli, argv[0], &sb);
    if (r)
        return r;
    const char *id = hearth_obj_str(sb, "id");
    struct hearth_error e;
    int rc = hearth_sandbox_disk_detach(cli->client, id, argv[1], argv[2], &o, &e);
    bool detached = rc == HEARTH_OK && hearth_obj_bool(o, "detached", false);
    if (rc != HEARTH_OK) {
        r = cli_fail(cli, &e);
    } else if (detached && !no_wait) {
        /* the server unmounts in the background (`unmounting`); wait until the row is gone, so
         * that a `disk rm` right after finds the disk free */
        struct out_progress p;
        char line[160];
        snprintf(line, sizeof(line), "%.60s at %.80s unmounting", argv[1], argv[2]);
        out_progress_start(&p, cli->stderr_tty,
                           cli_flag(&cli->args, "quiet") || cli->settings.json, line);
        char *unused = NULL;
        r = await_mount(cli, &p, id, argv[1], argv[2], timeout_ms, true, &unused);
        free(unused);
    }
    if (!r && rc == HEARTH_OK) {
        if (cli->settings.json)
            out_json(hearth_obj_json(o));
        else if (detached)
            printf("%s: %s detached from %s\n", id, argv[1], argv[2]);
        else
            printf("%s: no mount of %s at %s (nothing to do)\n", id, argv[1], argv[2]);
    }
    hearth_obj_free(sb);
    hearth_obj_free(o);
    return r;
}

/* `disk ls --sandbox <sb>`: DISK MOUNT SUB-PATH STATUS ERROR. */
int cmd_disk_mounts(struct cli *cli, int argc, char **argv)
{
    struct hearth_page page;
    int r = cli_page_flags(cli, &page);
    if (r)
        return r;
    hearth_obj *sb = NULL;
    r = cli_sandbox_resolve(cli, argc > 0 ? argv[0] : cli_value(&cli->args, "sandbox"), &sb);
    if (r)
        return r;
    hearth_list *l = NULL;
    struct hearth_error e;
    if (hearth_sandbox_disk_list(cli->client, hearth_obj_str(sb, "id"), &page, &l, &e) !=
        HEARTH_OK) {
        hearth_obj_free(sb);
        return cli_fail(cli, &e);
    }
    size_t n = hearth_list_count(l);
    if (!cli_list_short(cli, l, "mount_path")) {
        static const char *const hdr[] = { "disk", "mount", "sub-path", "status", "error" };
        struct out_table t;
        out_table_init(&t, 5, hdr);
        for (size_t i = 0; i < n; i++) {
            const hearth_obj *m = hearth_list_item(l, i);
            const char *row[] = { hearth_obj_str(m, "name") ?: hearth_obj_str(m, "disk_id"),
                                  hearth_obj_str(m, "mount_path"), hearth_obj_str(m, "sub_path"),
                                  hearth_obj_str(m, "mount_status"),
                                  hearth_obj_str(m, "mount_error") };
            (void)out_table_add(&t, row); /* out of memory: the row is missing, nothing else */
        }
        out_table_finish(&t, stdout);
    }
    hearth_list_free(l);
    hearth_obj_free(sb);
    return CLI_EXIT_OK;
}
