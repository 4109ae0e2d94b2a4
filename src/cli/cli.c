/* SPDX-License-Identifier: MIT */
/* cli.c: what commands share: exit codes for libhearth errors, error printing (human and JSON),
 * the client, sandbox references (docs/cli.md §6.1) and SSH key files. */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/values.h"

int cli_exit_for(int err)
{
    switch (err) {
    case HEARTH_OK:
        return CLI_EXIT_OK;
    case HEARTH_ERR_AUTH:
    case HEARTH_ERR_FORBIDDEN:
        return CLI_EXIT_AUTH;
    case HEARTH_ERR_NOT_FOUND:
        return CLI_EXIT_NOT_FOUND;
    case HEARTH_ERR_REJECTED:
        return CLI_EXIT_REJECTED;
    case HEARTH_ERR_TIMEOUT:
        return CLI_EXIT_TIMEOUT;
    case HEARTH_ERR_CONNECT:
    case HEARTH_ERR_UNAVAILABLE:
        return CLI_EXIT_UNREACHABLE;
    case HEARTH_ERR_ABORTED:
        return CLI_EXIT_INTERRUPTED;
    default:
        return CLI_EXIT_FAIL;
    }
}

void cli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void cli_json_batch_item(int i, const char *ref, const char *id)
{
    printf("%s{\"ref\":", i ? "," : "");
    cli_json_str(stdout, ref);
    if (id) {
        fputs(",\"id\":", stdout);
        cli_json_str(stdout, id);
    }
}

void cli_json_batch_error(const struct hearth_error *e)
{
    fputs(",\"error\":", stdout);
    cli_json_str(stdout, e->message[0] ? e->message : "failed");
}

int cli_fail(struct cli *cli, const struct hearth_error *e)
{
    if (cli->settings.json) {
        fputs("{\"error\":{\"http_status\":", stderr);
        fprintf(stderr, "%d,\"code\":", e->http_status);
        char code[64];
        snprintf(code, sizeof(code), "%s", e->api_code[0] ? e->api_code : hearth_err_name(e->code));
        for (char *p = code; *p; p++) /* "NOT_FOUND" → "not_found", like the API's codes */
            *p = (*p >= 'A' && *p <= 'Z') ? (char)(*p + 32) : *p;
        cli_json_str(stderr, code);
        fputs(",\"message\":", stderr);
        cli_json_str(stderr, e->message);
        if (e->request_id[0]) {
            fputs(",\"request_id\":", stderr);
            cli_json_str(stderr, e->request_id);
        }
        fputs("}}\n", stderr);
    } else {
        fprintf(stderr, "error: %s", e->message[0] ? e->message : hearth_strerror(e->code));
        if (e->http_status) {
            fprintf(stderr, " (HTTP %d", e->http_status);
            if (e->api_code[0])
                fprintf(stderr, " %s", e->api_code);
            if (e->request_id[0])
                fprintf(stderr, ", request %s", e->request_id);
            fputc(')', stderr);
        }
        fputc('\n', stderr);
        if (e->code == HEARTH_ERR_AUTH && !cli->settings.api_key)
            fputs("hint: no API key is set; use --api-key, HEARTH_API_KEY or "
                  "'hearth config set api_key <key>'\n",
                  stderr);
        if (e->code == HEARTH_ERR_CONNECT)
            fprintf(stderr, "hint: is hearthd running at %s?\n", cli->settings.api_url);
    }
    return cli_exit_for(e->code);
}

int cli_error(struct cli *cli, int code, const char *fmt, ...)
{
    struct hearth_error e = { .code = HEARTH_ERR_INVALID };
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof(e.message), fmt, ap);
    va_end(ap);
    if (cli->settings.json) {
        fputs("{\"error\":{\"http_status\":0,\"code\":\"cli\",\"message\":", stderr);
        cli_json_str(stderr, e.message);
        fputs("}}\n", stderr);
    } else {
        fprintf(stderr, "error: %s\n", e.message);
    }
    return code;
}

int cli_page_flags(struct cli *cli, struct hearth_page *ret)
{
    int64_t limit = 50, offset = 0;
    const char *v;
    if ((v = cli_value(&cli->args, "limit")) && (cli_parse_count(v, 500, &limit) < 0 || !limit))
        return cli_usage_error(cli, "--limit '%.40s' is not a number from 1 to 500", v);
    if ((v = cli_value(&cli->args, "offset")) && cli_parse_count(v, INT32_MAX, &offset) < 0)
        return cli_usage_error(cli, "--offset '%.40s' is not a number", v);
    *ret = (struct hearth_page){ .limit = limit, .offset = offset };
    return 0;
}

const struct cli_opt cli_confirm_opts[] = {
    { "yes", 'y', CLI_OPT_BOOL, "force", NULL, NULL, "do not ask for confirmation" },
    CLI_OPT_END,
};

int cli_confirm(struct cli *cli, const char *what)
{
    if (cli_flag(&cli->args, "yes"))
        return 0;
    if (!isatty(STDIN_FILENO) || !cli->stderr_tty)
        return cli_usage_error(cli, "refusing to %s without confirmation; pass --yes", what);
    fprintf(stderr, "%s. Proceed? [y/N] ", what);
    fflush(stderr);
    char line[16];
    if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y'))
        return cli_usage_error(cli, "not confirmed");
    return 0;
}

static void on_log(void *ud, const char *line)
{
    (void)ud;
    fprintf(stderr, "debug: %s\n", line);
}

int cli_client_open(struct cli *cli)
{
    if (cli->client)
        return 0;
    cli->client = hearth_client_new(cli->settings.api_url, cli->settings.api_key);
    if (!cli->client)
        return cli_usage_error(cli, "cannot use api url '%.80s'", cli->settings.api_url);
    if (hearth_client_set_user_agent(cli->client, "hearth-cli/" CLI_VERSION) != HEARTH_OK)
        return cli_error(cli, CLI_EXIT_FAIL, "out of memory");
    if (cli->debug)
        hearth_client_set_log(cli->client, on_log, NULL);
    return 0;
}

static bool terminal_state(const char *s)
{
    return s && (strcmp(s, "destroyed") == 0 || strcmp(s, "failed") == 0);
}

/* §6.1: a name matches exactly among non-terminal sandboxes, else the newest terminal one. */
static int resolve_name(struct cli *cli, const char *ref, hearth_obj **ret)
{
    hearth_list *l = NULL;
    struct hearth_error e;
    int rc = hearth_sandbox_list_all(cli->client, NULL, 0, &l, &e);
    if (rc == HEARTH_ERR_FORBIDDEN && cli->settings.api_key &&
        strncmp(cli->settings.api_key, "hst_", 4) == 0) /* docs/api.md §3.13: no list */
        return cli_error(cli, CLI_EXIT_USAGE, "a delegated access token cannot look sandboxes up "
                         "by name; give the sandbox id (sb-...) instead of '%s'", ref);
    if (rc != HEARTH_OK)
        return cli_fail(cli, &e);
    const hearth_obj *live = NULL, *dead = NULL;
    for (size_t i = 0; i < hearth_list_count(l); i++) { /* newest first */
        const hearth_obj *o = hearth_list_item(l, i);
        const char *name = hearth_obj_str(o, "name");
        if (!name || strcmp(name, ref) != 0)
            continue;
        if (!terminal_state(hearth_obj_str(o, "status"))) {
            live = o;
            break;
        }
        if (!dead)
            dead = o;
    }
    const hearth_obj *hit = live ? live : dead;
    if (!hit) {
        hearth_list_free(l);
        return cli_error(cli, CLI_EXIT_NOT_FOUND, "sandbox '%s' not found", ref);
    }
    rc = hearth_sandbox_get(cli->client, hearth_obj_str(hit, "id"), ret, &e);
    hearth_list_free(l);
    return rc == HEARTH_OK ? 0 : cli_fail(cli, &e);
}

int cli_sandbox_resolve(struct cli *cli, const char *ref, hearth_obj **ret)
{
    if (!ref || !*ref)
        return cli_usage_error(cli, "empty sandbox reference");
    if (strncmp(ref, "sb-", 3) == 0) {
        struct hearth_error e;
        int rc = hearth_sandbox_get(cli->client, ref, ret, &e);
        if (rc == HEARTH_OK)
            return 0;
        if (rc != HEARTH_ERR_NOT_FOUND)
            return cli_fail(cli, &e);
    }
    return resolve_name(cli, ref, ret);
}

char *cli_read_pubkey(struct cli *cli, const char *path)
{
    size_t n = strlen(path);
    char *p = NULL;
    bool is_pub = n > 4 && strcmp(path + n - 4, ".pub") == 0;
    if (asprintf(&p, is_pub ? "%s" : "%s.pub", path) < 0)
        return NULL;
    FILE *f = fopen(p, "re");
    if (!f && !is_pub) { /* maybe a public key file without the .pub suffix */
        free(p);
        p = strdup(path);
        f = p ? fopen(p, "re") : NULL;
    }
    if (!f) {
        cli_error(cli, CLI_EXIT_USAGE, "cannot read SSH public key '%s': %s", p ? p : path,
                  strerror(errno));
        free(p);
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got = getline(&line, &cap, f);
    fclose(f);
    if (got <= 0 || strncmp(line, "-----BEGIN", 10) == 0) {
        cli_error(cli, CLI_EXIT_USAGE, "'%s' holds no SSH public key", p);
        free(p);
        free(line);
        return NULL;
    }
    free(p);
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

int cli_rm_batch(struct cli *cli, int argc, char **argv, const char *what, const char *noun,
                 const char *detached_noun, cli_remove_fn remove)
{
    int r = cli_confirm(cli, what);
    if (r)
        return r;
    int worst = CLI_EXIT_OK;
    bool json = cli->settings.json;
    if (json)
        fputc('[', stdout);
    for (int i = 0; i < argc; i++) {
        hearth_obj *obj = NULL;
        size_t detached = 0;
        struct hearth_error e = { 0 };
        r = remove(cli, argv[i], &obj, &detached, &e);
        const char *id = hearth_obj_str(obj, "id");
        if (json) {
            cli_json_batch_item(i, argv[i], id);
            printf(",\"detached\":%zu", detached);
            if (r)
                cli_json_batch_error(&e);
            else
                fputs(",\"status\":\"deleted\"", stdout);
            putchar('}');
        } else if (r) {
            char msg[sizeof(e.message)];
            snprintf(msg, sizeof(msg), "%s '%.100s': %.380s", noun, argv[i], e.message);
            memcpy(e.message, msg, sizeof(e.message));
            (void)cli_fail(cli, &e); /* its exit code is r already */
        } else {
            printf("%s deleted", id ? id : argv[i]);
            if (detached)
                printf(" (%zu %s%s detached)", detached, detached_noun, detached == 1 ? "" : "s");
            putchar('\n');
        }
        if (r)
            worst = CLI_EXIT_FAIL;
        hearth_obj_free(obj);
    }
    if (json)
        fputs("]\n", stdout);
    /* one ref: its own exit code (4 for not found); several: 1 when any failed */
    return argc == 1 ? r : worst;
}

bool cli_list_short(struct cli *cli, const hearth_list *l, const char *quiet_field)
{
    if (cli->settings.json) {
        char *text = hearth_list_json(l);
        printf("%s\n", text ? text : "[]");
        free(text);
        return true;
    }
    if (!cli_flag(&cli->args, "quiet"))
        return false;
    for (size_t i = 0; i < hearth_list_count(l); i++)
        printf("%s\n", hearth_obj_str(hearth_list_item(l, i), quiet_field) ?: "");
    return true;
}
