/* SPDX-License-Identifier: MIT */
/* cmd_keys.c: `hearthd keys create|list|revoke` (docs/api.md §5.1): API key management on the
 * host, on the same data dir as `hearthd serve` (the store allows several processes). Prints a
 * new key once on stdout; never logs it. */
#include "daemon/cmd/cmd.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"
#include "daemon/config.h"
#include "daemon/ctl/keys.h"
#include "daemon/store/store.h"

struct keys_args {
    const char *config, *data_dir;
    const char *verb;
    const char *user, *label, *key_id;
    bool admin;
};

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "hearthd: keys: %s", msg);
    if (arg)
        fprintf(stderr, " '%s'", arg);
    fputc('\n', stderr);
    cmd_help_print(stderr, "keys");
    return EXIT_USAGE;
}

static int parse_args(int argc, char **argv, struct keys_args *a)
{
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        const char **dst = strcmp(s, "--config") == 0     ? &a->config
                           : strcmp(s, "--data-dir") == 0 ? &a->data_dir
                           : strcmp(s, "--user") == 0     ? &a->user
                           : strcmp(s, "--label") == 0    ? &a->label
                                                          : NULL;
        if (dst) {
            if (i + 1 >= argc)
                return usage_error("option needs a value:", s);
            *dst = argv[++i];
        } else if (strcmp(s, "--admin") == 0) {
            a->admin = true;
        } else if (s[0] == '-') {
            return usage_error("unknown option", s);
        } else if (!a->verb) {
            a->verb = s;
        } else if (strcmp(a->verb, "revoke") == 0 && !a->key_id) {
            a->key_id = s;
        } else {
            return usage_error("unexpected argument", s);
        }
    }
    if (!a->verb)
        return usage_error("no subcommand given; use create, list or revoke", NULL);
    bool create = strcmp(a->verb, "create") == 0, list = strcmp(a->verb, "list") == 0,
         revoke = strcmp(a->verb, "revoke") == 0;
    if (!create && !list && !revoke)
        return usage_error("unknown subcommand", a->verb);
    if (!create && (a->admin || a->label))
        return usage_error("--admin and --label only go with create", NULL);
    if (revoke && a->user)
        return usage_error("--user does not go with revoke", NULL);
    if (revoke && !a->key_id)
        return usage_error("revoke needs a KEY_ID", NULL);
    return 0;
}

static void fmt_time(int64_t ms, char out[TIMEFMT_RFC3339_LEN + 1])
{
    if (ms <= 0 || timefmt_rfc3339_ms(ms, out) < 0)
        snprintf(out, TIMEFMT_RFC3339_LEN + 1, "-");
}

static int do_create(struct store *st, const struct keys_args *a)
{
    const char *user = a->user ? a->user : "admin";
    if (a->label && !ctl_key_label_valid(a->label, strlen(a->label))) {
        fprintf(stderr, "hearthd: keys: invalid label: at most %d characters of text, without "
                        "control characters\n", CTL_KEY_LABEL_MAX);
        return EXIT_USAGE;
    }
    struct store_key k;
    char secret[APIKEY_LEN + 1];
    int r = store_key_create(st, user, a->label, a->admin, timefmt_now_ms(), &k, secret);
    if (r == -EINVAL) {
        fprintf(stderr, "hearthd: keys: invalid user name '%s': use ^[a-z0-9][a-z0-9_-]{0,62}$"
                        "\n", user);
        return EXIT_USAGE;
    }
    if (r == -ENAMETOOLONG) {
        fprintf(stderr, "hearthd: keys: label or user too long\n");
        return EXIT_USAGE;
    }
    if (r < 0) {
        fprintf(stderr, "hearthd: keys: cannot create key: %s (%s)\n", strerror(-r),
                store_errmsg(st));
        return 1;
    }
    printf("%s\n", secret);
    fflush(stdout);
    explicit_bzero(secret, sizeof(secret));
    fprintf(stderr, "created %s for user '%s'%s; the key above is shown only once\n", k.id,
            k.user_id, k.admin ? " (admin)" : "");
    return 0;
}

static int do_list(struct store *st, const struct keys_args *a)
{
    struct store_key *keys = NULL;
    size_t n = 0;
    int r = store_key_list(st, a->user, &keys, &n);
    if (r < 0) {
        fprintf(stderr, "hearthd: keys: cannot list keys: %s\n", strerror(-r));
        return 1;
    }
    printf("%-30s  %-16s  %-10s  %-5s  %-24s  %-24s  %-24s  %s\n", "ID", "USER", "PREFIX",
           "ADMIN", "CREATED", "LAST_USED", "REVOKED", "LABEL");
    for (size_t i = 0; i < n; i++) {
        char c[TIMEFMT_RFC3339_LEN + 1], u[TIMEFMT_RFC3339_LEN + 1], v[TIMEFMT_RFC3339_LEN + 1];
        fmt_time(keys[i].created_at, c);
        fmt_time(keys[i].last_used_at, u);
        fmt_time(keys[i].revoked_at, v);
        printf("%-30s  %-16s  %-10s  %-5s  %-24s  %-24s  %-24s  %s\n", keys[i].id,
               keys[i].user_id, keys[i].prefix, keys[i].admin ? "yes" : "no", c, u, v,
               keys[i].label);
    }
    free(keys);
    return 0;
}

static int do_revoke(struct store *st, const struct keys_args *a)
{
    int r = store_key_revoke(st, a->key_id, timefmt_now_ms());
    if (r == -ENOENT || r == -EINVAL) {
        fprintf(stderr, "hearthd: keys: no key '%s'; see 'hearthd keys list'\n", a->key_id);
        return 1;
    }
    if (r == -EALREADY) {
        fprintf(stderr, "key '%s' was already revoked\n", a->key_id);
        return 0;
    }
    if (r < 0) {
        fprintf(stderr, "hearthd: keys: cannot revoke '%s': %s\n", a->key_id, strerror(-r));
        return 1;
    }
    fprintf(stderr, "revoked %s\n", a->key_id);
    return 0;
}

int cmd_keys(int argc, char **argv)
{
    struct keys_args a = { 0 };
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            cmd_help_print(stdout, "keys");
            return 0;
        }
    }
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    struct hd_config cfg;
    if (cmd_config_load(&cfg, a.config, a.data_dir, NULL, NULL) < 0)
        return EXIT_USAGE;
    struct store *st = NULL;
    if (cmd_store_open(&cfg, &st) < 0)
        return 1;
    if (strcmp(a.verb, "create") == 0)
        rc = do_create(st, &a);
    else if (strcmp(a.verb, "list") == 0)
        rc = do_list(st, &a);
    else
        rc = do_revoke(st, &a);
    store_close(st);
    return rc;
}
