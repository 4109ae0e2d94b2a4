/* SPDX-License-Identifier: MIT */
/* cmd_sandbox_logs.c: `hearth sandbox logs` (the console log, -f to follow it until the
 * sandbox stops) and `hearth sandbox events` (the event log: who paused, resumed, forked or
 * destroyed it and why; -f polls for new ones until the sandbox is destroyed). `logs --events`
 * is `events`. Both routes are hearth extensions (docs/cli.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"

#define EVENTS_POLL_S 1

const struct cli_opt cmd_sandbox_logs_opts[] = {
    { "follow", 'f', CLI_OPT_BOOL, NULL, NULL, NULL, "keep printing until the sandbox stops" },
    CLI_VALUE("tail", "<n>", "only the last n lines (console log)"),
    CLI_BOOL("events", "print the event log instead of the console log"),
    CLI_OPT_END,
};

/* Prints the events of one page; *after moves to the last one printed. */
static void print_events(struct cli *cli, const hearth_obj *o, int64_t *after)
{
    size_t n = hearth_obj_array_len(o, "events");
    for (size_t i = 0; i < n; i++) {
        char p[64];
        snprintf(p, sizeof(p), "events.%zu", i);
        char *one = hearth_obj_value_json(o, p);
        snprintf(p, sizeof(p), "events.%zu.seq", i);
        *after = hearth_obj_int(o, p, *after);
        if (cli->settings.json) {
            printf("%s\n", one ? one : "{}");
        } else {
            const char *k[] = { "at", "kind", "actor", "reason", "detail" };
            const char *v[5];
            for (int j = 0; j < 5; j++) {
                char q[64];
                snprintf(q, sizeof(q), "events.%zu.%s", i, k[j]);
                v[j] = hearth_obj_str(o, q) ?: "";
            }
            printf("%-24s %-14s %-10s %s%s%s%s%s\n", v[0], v[1], *v[2] ? v[2] : "-", v[3],
                   *v[3] && *v[4] ? " " : "", *v[4] ? "(" : "", v[4], *v[4] ? ")" : "");
        }
        free(one);
    }
    fflush(stdout);
}

static int events(struct cli *cli, const char *ref, bool follow)
{
    hearth_obj *sb = NULL;
    int r = cli_sandbox_resolve(cli, ref, &sb);
    if (r)
        return r;
    char id[64];
    snprintf(id, sizeof(id), "%s", hearth_obj_str(sb, "id") ?: "");
    hearth_obj_free(sb);
    if (!cli->settings.json)
        printf("%-24s %-14s %-10s %s\n", "TIME", "EVENT", "BY", "REASON (DETAIL)");
    int64_t after = 0;
    for (;;) {
        hearth_obj *o = NULL;
        struct hearth_error e;
        if (hearth_sandbox_events(cli->client, id, after, 256, &o, &e) != HEARTH_OK)
            return cli_fail(cli, &e);
        int64_t before = after;
        print_events(cli, o, &after);
        hearth_obj_free(o);
        if (after != before)
            continue; /* a full page: there may be more at once */
        if (!follow)
            return 0;
        hearth_obj *now = NULL;
        if (hearth_sandbox_get(cli->client, id, &now, &e) != HEARTH_OK)
            return cli_fail(cli, &e);
        bool gone = strcmp(hearth_obj_str(now, "status") ?: "", "destroyed") == 0 ||
                    strcmp(hearth_obj_str(now, "status") ?: "", "failed") == 0;
        hearth_obj_free(now);
        if (gone) {
            /* the last events (destroyed) may have landed after our read */
            if (hearth_sandbox_events(cli->client, id, after, 256, &o, &e) == HEARTH_OK) {
                print_events(cli, o, &after);
                hearth_obj_free(o);
            }
            return 0;
        }
        sleep(EVENTS_POLL_S);
    }
}

int cmd_sandbox_events(struct cli *cli, int argc, char **argv)
{
    return events(cli, argv[0], cli_flag(&cli->args, "follow"));
}

int cmd_sandbox_logs(struct cli *cli, int argc, char **argv)
{
    bool follow = cli_flag(&cli->args, "follow");
    if (cli_flag(&cli->args, "events"))
        return events(cli, argv[0], follow);
    int64_t tail = -1;
    const char *t = cli_value(&cli->args, "tail");
    char *end = NULL;
    if (t)
        tail = *t >= '0' && *t <= '9' ? strtoll(t, &end, 10) : -1;
    if (t && (tail < 0 || tail > 100000 || !end || *end))
        return cli_usage_error(cli, "--tail '%.40s' is not a number of lines from 0 to 100000",
                               t);
    hearth_obj *sb = NULL;
    int r = cli_sandbox_resolve(cli, argv[0], &sb);
    if (r)
        return r;
    struct hearth_error e;
    int rc = hearth_sandbox_logs(cli->client, hearth_obj_str(sb, "id") ?: "", follow, tail,
                                 STDOUT_FILENO, &e);
    hearth_obj_free(sb);
    return rc == HEARTH_OK ? 0 : cli_fail(cli, &e);
}
