/* SPDX-License-Identifier: MIT */
/* cmd_sandbox.c: `hearth sb create|list|get|rm` (docs/cli.md §7.1; `get` adds the bandwidth view
 * of a running or paused sandbox), and the list flags that create and fork share (--ssh-key,
 * --egress, --env). */
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/values.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/timefmt.h"

const struct cli_opt cmd_sandbox_create_opts[] = {
    CLI_VALUE("shape", "<shape>", "size (default: config shape, else s-1vcpu-1gb)"),
    CLI_VALUE("name", "<name>", "a name to refer to the sandbox by"),
    CLI_VALUE("rootfs", "<image>", "root filesystem image (default: config rootfs)"),
    CLI_VALUE("disk-mib", "<MiB>", "root disk size in MiB"),
    CLI_LIST("ssh-key", "<path>", "SSH public key file (a private key path reads <path>.pub)"),
    CLI_LIST("egress", "<rule>", "allowed destination (host, host:port, CIDR); others blocked"),
    CLI_LIST("env", "KEY[=VALUE]", "environment variable (no =: from the local environment)"),
    CLI_BOOL("ingress", "publish the sandbox's ports under the ingress domain"),
    { "network", 0, CLI_OPT_LIST, "net", NULL, "<net>", "join a private network" },
    CLI_LIST("disk", "<ref>:<mount>[:<sub>]",
             "mount an S3 disk at boot (create does not wait for the mount)"),
    CLI_VALUE("auto-pause", "<duration>", "pause after this long idle (1m to 24h)"),
    CLI_FLAG_QUIET,
    CLI_OPT_END,
};

const struct cli_opt cmd_sandbox_list_opts[] = {
    CLI_FLAGS_PAGE,
    CLI_VALUE("status", "<state>", "only sandboxes in this state"),
    { "all", 'a', CLI_OPT_BOOL, NULL, NULL, NULL, "terminal states too (destroyed, failed)" },
    CLI_FLAG_QUIET,
    CLI_BOOL("wide", "add the ROOTFS, CREATED and INGRESS columns"),
    CLI_OPT_END,
};

static const char *const states[] = { "creating", "running",  "pausing", "paused",   "resuming",
                                      "forking",  "error",    "destroying", "destroyed",
                                      "failed" };
#define N_LIVE_STATES 8 /* the first eight are not terminal */

static int64_t now_ms(void)
{
    return timefmt_now_ms();
}

/* Calls fn(cli, item, ud) for each value of a list flag, splitting comma-separated values. */
static int each_value(struct cli *cli, const char *flag, int (*fn)(struct cli *, const char *,
                                                                   void *),
                      void *ud)
{
    for (size_t i = 0;; i++) {
        const char *v = cli_value_at(&cli->args, flag, i);
        if (!v)
            return 0;
        char *copy = strdup(v), *save = NULL;
        if (!copy)
            return cli_error(cli, CLI_EXIT_FAIL, "out of memory");
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            int r = fn(cli, t, ud);
            if (r) {
                free(copy);
                return r;
            }
        }
        free(copy);
    }
}

static int body_err(struct cli *cli, int rc, const char *what)
{
    if (rc == HEARTH_ERR_INVALID)
        return cli_usage_error(cli, "%s is not valid UTF-8 text", what);
    return cli_error(cli, CLI_EXIT_FAIL, "%s: %s", what, hearth_strerror(rc));
}

static int add_ssh_key(struct cli *cli, const char *path, void *ud)
{
    char *key = cli_read_pubkey(cli, path);
    if (!key)
        return CLI_EXIT_USAGE;
    int rc = hearth_body_append_str(ud, "ssh_pubkeys", key);
    free(key);
    return rc == HEARTH_OK ? 0 : body_err(cli, rc, "--ssh-key");
}

static int add_egress(struct cli *cli, const char *rule, void *ud)
{
    int rc = hearth_body_append_str(ud, "egress", rule);
    return rc == HEARTH_OK ? 0 : body_err(cli, rc, "--egress");
}

static int add_network(struct cli *cli, const char *ref, void *ud)
{
    const char *pairs[] = { "id", ref, NULL };
    int rc = hearth_body_append_obj(ud, "networks", pairs);
    return rc == HEARTH_OK ? 0 : body_err(cli, rc, "--network");
}

static int add_disk(struct cli *cli, const char *spec, void *ud)
{
    char *copy = strdup(spec);
    if (!copy)
        return cli_error(cli, CLI_EXIT_FAIL, "out of memory");
    char *mount = strchr(copy, ':');
    char *sub = mount ? strchr(mount + 1, ':') : NULL;
    if (mount)
        *mount++ = '\0';
    if (sub)
        *sub++ = '\0';
    if (!mount || !*copy || *mount != '/') {
        free(copy);
        return cli_usage_error(cli, "--disk '%.60s' is not <ref>:<mount-path>[:<sub-path>]",
                               spec);
    }
    const char *pairs[] = { "disk_id", copy, "mount_path", mount, "sub_path", sub, NULL };
    int rc = hearth_body_append_obj(ud, "disks", pairs);
    free(copy);
    return rc == HEARTH_OK ? 0 : body_err(cli, rc, "--disk");
}

int cli_ssh_key_flags(struct cli *cli, hearth_body *b)
{
    return each_value(cli, "ssh-key", add_ssh_key, b);
}

int cli_egress_flags(struct cli *cli, hearth_body *b)
{
    return each_value(cli, "egress", add_egress, b);
}

int cli_disk_flags(struct cli *cli, hearth_body *b)
{
    return each_value(cli, "disk", add_disk, b);
}

/* --env KEY=VALUE, or --env KEY with the value from the local environment. */
int cli_env_flags(struct cli *cli, hearth_body *b, const char *field)
{
    for (size_t i = 0;; i++) {
        const char *v = cli_value_at(&cli->args, "env", i);
        if (!v)
            return 0;
        const char *eq = strchr(v, '=');
        char name[256];
        size_t n = eq ? (size_t)(eq - v) : strlen(v);
        if (n == 0 || n >= sizeof(name))
            return cli_usage_error(cli, "--env '%.60s' is not KEY=VALUE", v);
        memcpy(name, v, n);
        name[n] = '\0';
        const char *val = eq ? eq + 1 : getenv(name);
        if (!val)
            return cli_usage_error(cli, "--env '%s': not set in the local environment", name);
        int rc = hearth_body_set_map(b, field, name, val);
        if (rc != HEARTH_OK)
            return body_err(cli, rc, "--env");
    }
}

/* bw: the sandbox's Bandwidth view, or NULL when it was not fetched. */
static void print_sandbox(const hearth_obj *o, bool full, const hearth_obj *bw)
{
    struct out_kv kv = { 0 };
    char mem[32], disk[32], t[64];
    out_kv_add(&kv, "id", "%s", hearth_obj_str(o, "id") ?: "");
    out_kv_add(&kv, "name", "%s", hearth_obj_str(o, "name") ?: "");
    out_kv_add(&kv, "status", "%s", hearth_obj_str(o, "status") ?: "");
    out_mib(hearth_obj_int(o, "mem_mib", 0), mem, sizeof(mem));
    out_mib(hearth_obj_int(o, "disk_mib", 0), disk, sizeof(disk));
    out_kv_add(&kv, "shape", "%s (%lld vCPU, %s RAM, %s disk)", hearth_obj_str(o, "shape") ?: "",
               (long long)hearth_obj_int(o, "vcpu", 0), mem, disk);
    out_kv_add(&kv, "rootfs", "%s", hearth_obj_str(o, "rootfs") ?: "");
    out_kv_add(&kv, "ip", "%s", hearth_obj_str(o, "ip") ?: "");
    if (hearth_obj_bool(o, "ingress_enabled", false))
        out_kv_add(&kv, "ingress", "%s", hearth_obj_str(o, "ingress_url_template") ?: "on");
    else
        out_kv_add(&kv, "ingress", "off");
    if (full) {
        out_kv_add(&kv, "region", "%s", hearth_obj_str(o, "region") ?: "");
        size_t ne = hearth_obj_array_len(o, "egress");
        char buf[1024] = "";
        for (size_t i = 0; i < ne; i++) {
            size_t used = strlen(buf);
            snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? ", " : "",
                     hearth_obj_array_str(o, "egress", i) ?: "");
        }
        out_kv_add(&kv, "egress", "%s", ne ? buf : "all outbound allowed");
        buf[0] = '\0';
        size_t nv = hearth_obj_array_len(o, "envs");
        for (size_t i = 0; i < nv; i++) {
            size_t used = strlen(buf);
            snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? ", " : "",
                     hearth_obj_array_str(o, "envs", i) ?: "");
        }
        out_kv_add(&kv, "envs", "%s", buf);
        out_kv_add(&kv, "ssh keys", "%zu", hearth_obj_array_len(o, "ssh_pubkeys"));
        if (hearth_obj_has(o, "auto_pause_after_seconds"))
            out_kv_add(&kv, "auto-pause", "after %llds idle",
                       (long long)hearth_obj_int(o, "auto_pause_after_seconds", 0));
        else
            out_kv_add(&kv, "auto-pause", "off");
        if (hearth_obj_has(o, "forked_from"))
            out_kv_add(&kv, "forked from", "%s", hearth_obj_str(o, "forked_from") ?: "");
        if (hearth_obj_has(o, "spawn_ms"))
            out_kv_add(&kv, "spawn", "%.0f ms", hearth_obj_num(o, "spawn_ms", 0));
        if (bw) {
            char line[96];
            out_bandwidth_summary(bw, line, sizeof(line));
            out_kv_add(&kv, "bandwidth", "%s", line);
        }
        out_kv_add(&kv, "ingress bytes", "%lld",
                   (long long)hearth_obj_int(o, "bandwidth_ingress_bytes", 0));
        static const char *const times[] = { "created_at", "running_at", "paused_at",
                                             "last_resumed_at", "destroyed_at" };
        for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
            const char *ts = hearth_obj_str(o, times[i]);
            if (!ts)
                continue;
            char key[32];
            snprintf(key, sizeof(key), "%.*s", (int)(strlen(times[i]) - 3), times[i]);
            for (char *p = key; *p; p++)
                *p = *p == '_' ? ' ' : *p;
            out_local_time(ts, t, sizeof(t));
            out_kv_add(&kv, key, "%s", t);
        }
    }
    out_kv_print(&kv, stdout);
}

int cmd_sandbox_create(struct cli *cli, int argc, char **argv)
{
    hearth_body *b = hearth_body_new();
    if (!b)
        return cli_error(cli, CLI_EXIT_FAIL, "out of memory");
    int r = 0, rc;
    const char *shape = cli_value(&cli->args, "shape");
    if (!shape)
        shape = cli->cfg.values[CLI_CFG_SHAPE] ? cli->cfg.values[CLI_CFG_SHAPE]
                                               : CLI_DEFAULT_SHAPE;
    const char *rootfs = cli_value(&cli->args, "rootfs");
    if (!rootfs)
        rootfs = cli->cfg.values[CLI_CFG_ROOTFS];
    const char *name = cli_value(&cli->args, "name");
    const char *v;
    if ((rc = hearth_body_set_str(b, "shape", shape)) != HEARTH_OK ||
        (name && (rc = hearth_body_set_str(b, "name", name)) != HEARTH_OK) ||
        (rootfs && *rootfs && (rc = hearth_body_set_str(b, "rootfs", rootfs)) != HEARTH_OK)) {
        r = body_err(cli, rc, "--shape, --name or --rootfs");
        goto out;
    }
    if ((v = cli_value(&cli->args, "disk-mib"))) {
        int64_t mib;
        if (cli_parse_count(v, INT32_MAX, &mib) < 0) {
            r = cli_usage_error(cli, "--disk-mib '%.40s' is not a number of MiB", v);
            goto out;
        }
        if (hearth_body_set_int(b, "disk_mib", mib) != HEARTH_OK)
            goto nomem;
    }
    if ((v = cli_value(&cli->args, "auto-pause"))) {
        int64_t ms;
        if (cli_parse_duration_ms(v, &ms) < 0 || ms % 1000 != 0) {
            r = cli_usage_error(cli, "--auto-pause '%.40s' is not a duration in whole seconds "
                                     "(1m to 24h)",
                                v);
            goto out;
        }
        if (hearth_body_set_int(b, "auto_pause_after_seconds", ms / 1000) != HEARTH_OK)
            goto nomem;
    }
    if (cli_flag(&cli->args, "ingress") && hearth_body_set_bool(b, "ingress_enabled", true))
        goto nomem;
    if ((r = cli_ssh_key_flags(cli, b)) || (r = cli_egress_flags(cli, b)) ||
        (r = each_value(cli, "network", add_network, b)) ||
        (r = cli_disk_flags(cli, b)) || (r = cli_env_flags(cli, b, "envs")))
        goto out;

    struct out_progress p;
    out_progress_start(&p, cli->stderr_tty, cli_flag(&cli->args, "quiet") || cli->settings.json,
                       "creating sandbox");
    hearth_client_set_progress(cli->client, out_progress_tick, &p);
    hearth_obj *o = NULL;
    struct hearth_error e;
    rc = hearth_sandbox_create(cli->client, b, &o, &e);
    hearth_client_set_progress(cli->client, NULL, NULL);
    out_progress_end(&p, rc == HEARTH_OK, "running");
    if (rc != HEARTH_OK) {
        r = cli_fail(cli, &e);
        goto out;
    }
    if (cli->settings.json) {
        out_json(hearth_obj_json(o));
    } else {
        print_sandbox(o, false, NULL);
        if (!cli_flag(&cli->args, "quiet"))
            fprintf(stderr, "hint: hearth sb exec %s -- uname -a\n",
                    hearth_obj_str(o, "name") ?: hearth_obj_str(o, "id") ?: "");
    }
    hearth_obj_free(o);
    r = CLI_EXIT_OK;
    goto out;
nomem:
    r = cli_error(cli, CLI_EXIT_FAIL, "out of memory");
out:
    hearth_body_free(b);
    return r;
}

/* Newest first: created_at descending, then id descending (the server's own order). */
static int cmp_newest(const void *a, const void *b)
{
    const hearth_obj *x = *(const hearth_obj *const *)a, *y = *(const hearth_obj *const *)b;
    const char *cx = hearth_obj_str(x, "created_at") ?: "", *cy = hearth_obj_str(y, "created_at")
                                                                       ?: "";
    int c = strcmp(cy, cx);
    if (c)
        return c;
    return strcmp(hearth_obj_str(y, "id") ?: "", hearth_obj_str(x, "id") ?: "");
}

static void print_list(struct cli *cli, const hearth_obj **items, size_t n)
{
    if (cli->settings.json) {
        fputc('[', stdout);
        for (size_t i = 0; i < n; i++)
            printf("%s%s", i ? "," : "", hearth_obj_json(items[i]));
        fputs("]\n", stdout);
        return;
    }
    if (cli_flag(&cli->args, "quiet")) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", hearth_obj_str(items[i], "id") ?: "");
        return;
    }
    bool wide = cli_flag(&cli->args, "wide");
    static const char *const hdr[] = { "id", "name", "status", "size", "ip",
                                       "rootfs", "created", "ingress" };
    struct out_table t;
    out_table_init(&t, wide ? 8 : 5, hdr);
    int64_t now = now_ms();
    for (size_t i = 0; i < n; i++) {
        const hearth_obj *o = items[i];
        char age[32];
        out_age(hearth_obj_str(o, "created_at"), now, age, sizeof(age));
        const char *ingress = hearth_obj_bool(o, "ingress_enabled", false)
                                  ? (hearth_obj_str(o, "ingress_url_template") ?: "on")
                                  : "off";
        const char *row[] = { hearth_obj_str(o, "id"),     hearth_obj_str(o, "name"),
                              hearth_obj_str(o, "status"), hearth_obj_str(o, "shape"),
                              hearth_obj_str(o, "ip"),     hearth_obj_str(o, "rootfs"),
                              age,                         ingress };
        (void)out_table_add(&t, row); /* out of memory: the row is missing, nothing else */
    }
    out_table_finish(&t, stdout);
}

int cmd_sandbox_list(struct cli *cli, int argc, char **argv)
{
    struct hearth_page page;
    int r = cli_page_flags(cli, &page);
    if (r)
        return r;
    const char *status = cli_value(&cli->args, "status");
    if (status) {
        bool known = false;
        for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
            known |= strcmp(status, states[i]) == 0;
        if (!known)
            return cli_usage_error(cli, "--status '%.40s' is not a sandbox state", status);
        if (cli_flag(&cli->args, "all"))
            return cli_usage_error(cli, "--all and --status exclude each other");
    }
    struct hearth_error e;
    if (status || cli_flag(&cli->args, "all")) {
        page.status = status;
        hearth_list *l = NULL;
        if (hearth_sandbox_list(cli->client, &page, &l, &e) != HEARTH_OK)
            return cli_fail(cli, &e);
        size_t n = hearth_list_count(l);
        const hearth_obj **items = calloc(n + 1, sizeof(*items));
        if (!items) {
            hearth_list_free(l);
            return cli_error(cli, CLI_EXIT_FAIL, "out of memory");
        }
        for (size_t i = 0; i < n; i++)
            items[i] = hearth_list_item(l, i);
        print_list(cli, items, n);
        free(items);
        hearth_list_free(l);
        return CLI_EXIT_OK;
    }
    /* default view: every non-terminal state, merged newest first, then limit/offset */
    hearth_list *lists[N_LIVE_STATES] = { 0 };
    const hearth_obj **items = NULL;
    size_t total = 0;
    for (size_t s = 0; s < N_LIVE_STATES; s++) {
        if (hearth_sandbox_list_all(cli->client, states[s], (size_t)(page.offset + page.limit),
                                    &lists[s], &e) != HEARTH_OK) {
            r = cli_fail(cli, &e);
            goto out;
        }
        total += hearth_list_count(lists[s]);
    }
    items = calloc(total + 1, sizeof(*items));
    if (!items) {
        r = cli_error(cli, CLI_EXIT_FAIL, "out of memory");
        goto out;
    }
    size_t n = 0;
    for (size_t s = 0; s < N_LIVE_STATES; s++)
        for (size_t i = 0; i < hearth_list_count(lists[s]); i++)
            items[n++] = hearth_list_item(lists[s], i);
    qsort(items, n, sizeof(*items), cmp_newest);
    size_t from = (size_t)page.offset < n ? (size_t)page.offset : n;
    size_t count = n - from < (size_t)page.limit ? n - from : (size_t)page.limit;
    print_list(cli, items + from, count);
out:
    free(items);
    for (size_t s = 0; s < N_LIVE_STATES; s++)
        hearth_list_free(lists[s]);
    return r;
}

/* The bandwidth view of a running or paused sandbox (docs/cli.md §7.1), or NULL. `get` still works
 * without it: a server without the route (501) is passed over in silence, other failures with
 * a warning. */
static hearth_obj *fetch_bandwidth(struct cli *cli, const hearth_obj *sb)
{
    const char *status = hearth_obj_str(sb, "status");
    if (!status || (strcmp(status, "running") != 0 && strcmp(status, "paused") != 0))
        return NULL;
    hearth_obj *bw = NULL;
    struct hearth_error e;
    int rc = hearth_bandwidth_get(cli->client, hearth_obj_str(sb, "id"), &bw, &e);
    if (rc != HEARTH_OK && rc != HEARTH_ERR_NOT_IMPLEMENTED)
        fprintf(stderr, "warning: cannot read the bandwidth of '%s': %s, ignoring\n",
                hearth_obj_str(sb, "id") ?: "", e.message);
    return rc == HEARTH_OK ? bw : NULL;
}

/* Prints the SandboxView's JSON with "bandwidth" added as its last member. */
static void print_json_with_bandwidth(const hearth_obj *sb, const hearth_obj *bw)
{
    const char *text = hearth_obj_json(sb);
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] != '}')
        n--;
    if (n == 0) { /* not an object: print it as it is */
        out_json(text);
        return;
    }
    bool empty = n == 2 && text[0] == '{';
    printf("%.*s%s\"bandwidth\":%s}\n", (int)(n - 1), text, empty ? "" : ",",
           hearth_obj_json(bw));
}

int cmd_sandbox_get(struct cli *cli, int argc, char **argv)
{
    hearth_obj *o = NULL;
    int r = cli_sandbox_resolve(cli, argv[0], &o);
    if (r)
        return r;
    hearth_obj *bw = fetch_bandwidth(cli, o);
    if (cli->settings.json && bw)
        print_json_with_bandwidth(o, bw);
    else if (cli->settings.json)
        out_json(hearth_obj_json(o));
    else
        print_sandbox(o, true, bw);
    hearth_obj_free(bw);
    hearth_obj_free(o);
    return CLI_EXIT_OK;
}

int cmd_sandbox_rm(struct cli *cli, int argc, char **argv)
{
    char what[128];
    snprintf(what, sizeof(what), "destroy %d sandbox%s", argc, argc == 1 ? "" : "es");
    int r = cli_confirm(cli, what);
    if (r)
        return r;
    int worst = CLI_EXIT_OK;
    if (cli->settings.json)
        fputc('[', stdout);
    for (int i = 0; i < argc; i++) {
        hearth_obj *sb = NULL, *res = NULL;
        struct hearth_error e = { 0 };
        const char *id = NULL;
        bool json = cli->settings.json;
        /* resolve quietly in JSON mode: the error goes into the array */
        cli->settings.json = false;
        r = cli_sandbox_resolve(cli, argv[i], &sb);
        cli->settings.json = json;
        if (r == 0) {
            id = hearth_obj_str(sb, "id");
            if (hearth_sandbox_delete(cli->client, id, &res, &e) != HEARTH_OK)
                r = cli_fail(cli, &e);
        }
        if (json) {
            cli_json_batch_item(i, argv[i], id);
            if (res)
                printf(",\"status\":\"%s\"", hearth_obj_str(res, "status") ?: "");
            if (r)
                cli_json_batch_error(&e);
            putchar('}');
        } else if (res) {
            printf("%s %s\n", id, hearth_obj_str(res, "status") ?: "");
        }
        if (r)
            worst = CLI_EXIT_FAIL;
        hearth_obj_free(sb);
        hearth_obj_free(res);
    }
    if (cli->settings.json)
        fputs("]\n", stdout);
    /* one ref: its own exit code (4 for not found); several: 1 when any failed */
    return argc == 1 ? r : worst;
}
