/* SPDX-License-Identifier: MIT */
/* cmd_sandbox_disk.c: `hearth sb disk create|ls|show|rm|rotate-keys` (docs/cli.md §7.4), the S3
 * disk catalog. The secret key is read from stdin (`--secret-key -`), a file, HEARTH_DISK_SECRET_KEY
 * or a hidden prompt; a literal `--secret-key <value>` works (the spec has it) with a warning,
 * because argv is visible to every local user and stays in shell history. */
#include "cli/commands.h"
#include "cli/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/timefmt.h"

#define SECRET_MAX 1024 /* S3 secrets are 40 bytes; room for any provider's */
#define RM_WAIT_MS 45000 /* how long `rm` waits for the mounts it detached to go */

#define DISK_KEY_FLAGS                                                                           \
    CLI_VALUE("access-key", "<key>", "S3 access key id (else $HEARTH_DISK_ACCESS_KEY)"),         \
        CLI_VALUE("secret-key", "<value|->",                                                    \
                  "S3 secret key; - reads it from stdin (a value on the command line is "       \
                  "visible in ps: prefer -)"),                                                  \
        CLI_VALUE("secret-key-file", "<path>",                                                  \
                  "read the S3 secret key from a file (else $HEARTH_DISK_SECRET_KEY, else a "   \
                  "hidden prompt on a terminal)")

const struct cli_opt cmd_disk_create_opts[] = {
    CLI_VALUE("bucket", "<name>", "the S3 bucket (required)"),
    CLI_VALUE("endpoint", "<url>", "the S3 endpoint, http:// or https:// (required)"),
    CLI_VALUE("region", "<region>", "signing region (default us-east-1)"),
    CLI_BOOL("path-style", "path-style addressing (MinIO, s3rver and similar)"),
    DISK_KEY_FLAGS,
    CLI_OPT_END,
};

const struct cli_opt cmd_disk_rotate_opts[] = {
    DISK_KEY_FLAGS,
    CLI_OPT_END,
};

const struct cli_opt cmd_disk_ls_opts[] = {
    CLI_FLAGS_PAGE,
    CLI_FLAG_QUIET,
    CLI_VALUE("sandbox", "<sb>", "list this sandbox's mounts instead of the disks"),
    CLI_OPT_END,
};

/* Drops one trailing "\n" or "\r\n": a file or a pipe ends its line, the key does not. */
static void chomp(char *s, size_t *len)
{
    if (*len && s[*len - 1] == '\n')
        s[--*len] = '\0';
    if (*len && s[*len - 1] == '\r')
        s[--*len] = '\0';
}

/* Reads at most SECRET_MAX bytes from fd (up to EOF, or the first newline when one_line) into a
 * new string; NULL with errno (EFBIG: longer). */
static char *read_secret_fd(int fd, bool one_line)
{
    char *buf = malloc(SECRET_MAX + 2);
    if (!buf)
        return NULL;
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, SECRET_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            explicit_bzero(buf, SECRET_MAX + 2);
            free(buf);
            errno = err;
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > SECRET_MAX || (one_line && memchr(buf, '\n', len)))
            break;
    }
    buf[len] = '\0';
    chomp(buf, &len);
    if (len > SECRET_MAX || memchr(buf, '\0', len)) {
        explicit_bzero(buf, SECRET_MAX + 2);
        free(buf);
        errno = len > SECRET_MAX ? EFBIG : EINVAL;
        return NULL;
    }
    return buf;
}

/* A hidden prompt on the controlling terminal; NULL when there is none. */
static char *prompt_secret(void)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return NULL;
    struct termios old, quiet;
    bool restore = tcgetattr(fd, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ICANON;
        (void)tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    static const char ask[] = "S3 secret key: ";
    (void)!write(fd, ask, sizeof(ask) - 1);
    char *s = read_secret_fd(fd, true);
    if (restore)
        (void)tcsetattr(fd, TCSAFLUSH, &old);
    (void)!write(fd, "\n", 1);
    close(fd);
    return s;
}

/* The secret key of create and rotate-keys (docs/cli.md §7.4), a new string the caller wipes
 * and frees; NULL after printing why (*ret_exit set). */
static char *secret_key(struct cli *cli, int *ret_exit)
{
    const char *v = cli_value(&cli->args, "secret-key");
    const char *file = cli_value(&cli->args, "secret-key-file");
    const char *env = getenv("HEARTH_DISK_SECRET_KEY");
    char *s = NULL;
    *ret_exit = CLI_EXIT_USAGE;
    if (v && file) {
        cli_usage_error(cli, "--secret-key and --secret-key-file exclude each other");
        return NULL;
    }
    if (file || (v && strcmp(v, "-") == 0)) {
        int fd = file ? open(file, O_RDONLY | O_CLOEXEC) : 0;
        s = fd >= 0 ? read_secret_fd(fd, false) : NULL;
        int err = errno;
        if (file && fd >= 0)
            close(fd);
        if (!s) {
            cli_error(cli, CLI_EXIT_USAGE, "cannot read the secret key from %s: %s",
                      file ? file : "stdin",
                      err == EFBIG ? "longer than 1024 bytes" : strerror(err));
            return NULL;
        }
    } else if (v) {
        fputs("warning: a secret key on the command line is visible to other local users (ps) "
              "and stays in shell history; prefer --secret-key - or --secret-key-file\n",
              stderr);
        s = strdup(v);
    } else if (env && *env) {
        s = strdup(env);
    } else if (isatty(0)) {
        s = prompt_secret();
    } else {
        cli_usage_error(cli, "no secret key: give --secret-key - (stdin), --secret-key-file "
                             "<path> or $HEARTH_DISK_SECRET_KEY");
        return NULL;
    }
    if (s && !*s) {
        free(s);
        cli_usage_error(cli, "the secret key is empty");
        return NULL;
    }
    if (!s)
        cli_error(cli, CLI_EXIT_USAGE, "cannot read the secret key");
    return s;
}

static void secret_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* --access-key, else $HEARTH_DISK_ACCESS_KEY; NULL after a usage error. */
static const char *access_key(struct cli *cli)
{
    const char *v = cli_value(&cli->args, "access-key");
    if (!v || !*v)
        v = getenv("HEARTH_DISK_ACCESS_KEY");
    if (!v || !*v) {
        cli_usage_error(cli, "missing --access-key (or $HEARTH_DISK_ACCESS_KEY)");
        return NULL;
    }
    return v;
}

static void print_disk(const hearth_obj *o)
{
    struct out_kv kv = { 0 };
    char t[64];
    out_kv_add(&kv, "id", "%s", hearth_obj_str(o, "id") ?: "");
    out_kv_add(&kv, "name", "%s", hearth_obj_str(o, "name") ?: "");
    out_kv_add(&kv, "kind", "%s", hearth_obj_str(o, "kind") ?: "");
    out_kv_add(&kv, "bucket", "%s", hearth_obj_str(o, "config.bucket") ?: "");
    out_kv_add(&kv, "endpoint", "%s", hearth_obj_str(o, "config.endpoint") ?: "");
    out_kv_add(&kv, "region", "%s", hearth_obj_str(o, "config.region") ?: "(us-east-1)");
    out_kv_add(&kv, "path style", "%s",
               hearth_obj_bool(o, "config.use_path_style", false) ? "yes" : "no");
    out_local_time(hearth_obj_str(o, "created_at"), t, sizeof(t));
    out_kv_add(&kv, "created", "%s", t);
    out_kv_print(&kv, stdout);
}

/* The answer of create, show and rotate-keys. */
static int disk_answer(struct cli *cli, int rc, hearth_obj *o, const struct hearth_error *e)
{
    if (rc != HEARTH_OK)
        return cli_fail(cli, e);
    if (cli->settings.json)
        out_json(hearth_obj_json(o));
    else
        print_disk(o);
    hearth_obj_free(o);
    return CLI_EXIT_OK;
}

/* The access key (borrowed) and the secret key (caller wipes with secret_free()) of create and
 * rotate-keys; 0 or the exit code after printing why. */
static int read_keys(struct cli *cli, const char **ret_ak, char **ret_sk)
{
    *ret_ak = access_key(cli);
    if (!*ret_ak)
        return CLI_EXIT_USAGE;
    int r;
    *ret_sk = secret_key(cli, &r);
    return *ret_sk ? 0 : r;
}

int cmd_disk_create(struct cli *cli, int argc, char **argv)
{
    const char *bucket = cli_value(&cli->args, "bucket");
    const char *endpoint = cli_value(&cli->args, "endpoint");
    const char *region = cli_value(&cli->args, "region");
    if (!bucket || !*bucket)
        return cli_usage_error(cli, "missing --bucket");
    if (!endpoint || !*endpoint)
        return cli_usage_error(cli, "missing --endpoint");
    const char *ak;
    char *sk;
    int r = read_keys(cli, &ak, &sk);
    if (r)
        return r;
    hearth_body *b = hearth_body_new();
    r = !b || hearth_body_set_str(b, "name", argv[0]) || hearth_body_set_str(b, "kind", "s3") ||
        hearth_body_set_map(b, "config", "bucket", bucket) ||
        hearth_body_set_map(b, "config", "endpoint", endpoint) ||
        (region && hearth_body_set_map(b, "config", "region", region)) ||
        hearth_body_set_map_bool(b, "config", "use_path_style",
                                 cli_flag(&cli->args, "path-style")) ||
        hearth_body_set_map(b, "credentials", "access_key", ak) ||
        hearth_body_set_map(b, "credentials", "secret_key", sk);
    secret_free(sk);
    if (r) {
        hearth_body_free(b);
        return cli_usage_error(cli, "a name, bucket, endpoint, region or key is not UTF-8 text");
    }
    hearth_obj *o = NULL;
    struct hearth_error e;
    int rc = hearth_disk_create(cli->client, b, &o, &e);
    hearth_body_free(b);
    return disk_answer(cli, rc, o, &e);
}

int cmd_disk_show(struct cli *cli, int argc, char **argv)
{
    hearth_obj *o = NULL;
    struct hearth_error e;
    int rc = hearth_disk_get(cli->client, argv[0], &o, &e);
    return disk_answer(cli, rc, o, &e);
}

int cmd_disk_rotate(struct cli *cli, int argc, char **argv)
{
    const char *ak;
    char *sk;
    int r = read_keys(cli, &ak, &sk);
    if (r)
        return r;
    hearth_obj *o = NULL;
    struct hearth_error e;
    int rc = hearth_disk_rotate(cli->client, argv[0], ak, sk, &o, &e);
    secret_free(sk);
    return disk_answer(cli, rc, o, &e);
}

int cmd_disk_ls(struct cli *cli, int argc, char **argv)
{
    if (argc > 0 && cli_value(&cli->args, "sandbox"))
        return cli_usage_error(cli, "give the sandbox once: as <sb> or as --sandbox");
    if (argc > 0 || cli_value(&cli->args, "sandbox"))
        return cmd_disk_mounts(cli, argc, argv);
    struct hearth_page page;
    int r = cli_page_flags(cli, &page);
    if (r)
        return r;
    hearth_list *l = NULL;
    struct hearth_error e;
    if (hearth_disk_list(cli->client, &page, &l, &e) != HEARTH_OK)
        return cli_fail(cli, &e);
    size_t n = hearth_list_count(l);
    if (!cli_list_short(cli, l, "id")) {
        static const char *const hdr[] = { "id", "name", "bucket", "endpoint", "created" };
        struct out_table t;
        out_table_init(&t, 5, hdr);
        int64_t now = timefmt_now_ms();
        for (size_t i = 0; i < n; i++) {
            const hearth_obj *o = hearth_list_item(l, i);
            char age[32];
            out_age(hearth_obj_str(o, "created_at"), now, age, sizeof(age));
            const char *row[] = { hearth_obj_str(o, "id"), hearth_obj_str(o, "name"),
                                  hearth_obj_str(o, "config.bucket"),
                                  hearth_obj_str(o, "config.endpoint"), age };
            (void)out_table_add(&t, row); /* out of memory: the row is missing, nothing else */
        }
        out_table_finish(&t, stdout);
    }
    hearth_list_free(l);
    return CLI_EXIT_OK;
}

/* Detaches disk id from every sandbox that is not terminal (`rm` of a disk in use). Counts the
 * mounts removed in *ret_n; returns 0 or an exit code with e set. */
static int detach_everywhere(struct cli *cli, const char *id, size_t *ret_n,
                             struct hearth_error *e)
{
    hearth_list *sbs = NULL;
    int rc = hearth_sandbox_list_all(cli->client, NULL, 0, &sbs, e);
    if (rc != HEARTH_OK)
        return cli_exit_for(rc);
    for (size_t i = 0; i < hearth_list_count(sbs) && rc == HEARTH_OK; i++) {
        const hearth_obj *sb = hearth_list_item(sbs, i);
        const char *sid = hearth_obj_str(sb, "id"), *st = hearth_obj_str(sb, "status");
        if (!sid || !st || strcmp(st, "destroyed") == 0 || strcmp(st, "failed") == 0)
            continue;
        hearth_list *mounts = NULL;
        struct hearth_page page = { .limit = 500 };
        rc = hearth_sandbox_disk_list(cli->client, sid, &page, &mounts, e);
        if (rc == HEARTH_ERR_NOT_FOUND) { /* destroyed meanwhile */
            rc = HEARTH_OK;
            continue;
        }
        for (size_t k = 0; k < hearth_list_count(mounts) && rc == HEARTH_OK; k++) {
            const hearth_obj *m = hearth_list_item(mounts, k);
            const char *did = hearth_obj_str(m, "disk_id");
            const char *path = hearth_obj_str(m, "mount_path");
            if (!did || !path || strcmp(did, id) != 0)
                continue;
            rc = hearth_sandbox_disk_detach(cli->client, sid, id, path, NULL, e);
            if (rc == HEARTH_OK)
                ++*ret_n;
        }
        hearth_list_free(mounts);
    }
    hearth_list_free(sbs);
    return cli_exit_for(rc);
}

/* One `disk rm` ref: delete; when in use, detach it everywhere and delete again. */
static int remove_one(struct cli *cli, const char *ref, hearth_obj **ret_disk, size_t *ret_n,
                      struct hearth_error *e)
{
    int rc = hearth_disk_get(cli->client, ref, ret_disk, e);
    if (rc != HEARTH_OK)
        return cli_exit_for(rc);
    const char *id = hearth_obj_str(*ret_disk, "id");
    if (!id)
        id = ref;
    rc = hearth_disk_delete(cli->client, id, NULL, e);
    if (rc == HEARTH_ERR_REJECTED && strcmp(e->api_code, "in_use") == 0) {
        int r = detach_everywhere(cli, id, ret_n, e);
        if (r)
            return r;
        /* the mounts go `unmounting` and are removed once the guests unmounted them: delete
         * again until then, for at most RM_WAIT_MS */
        uint64_t start = out_now_us();
        for (long pause = 250;; pause = pause * 5 / 4 > 2000 ? 2000 : pause * 5 / 4) {
            rc = hearth_disk_delete(cli->client, id, NULL, e);
            if (rc != HEARTH_ERR_REJECTED || strcmp(e->api_code, "in_use") != 0 ||
                (out_now_us() - start) / 1000 >= RM_WAIT_MS)
                break;
            struct timespec ts = { .tv_sec = pause / 1000, .tv_nsec = pause % 1000 * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    return cli_exit_for(rc);
}

int cmd_disk_rm(struct cli *cli, int argc, char **argv)
{
    char what[128];
    snprintf(what, sizeof(what), "delete %d disk%s (detaching it from every sandbox; the bucket "
                                 "is not touched)",
             argc, argc == 1 ? "" : "s");
    return cli_rm_batch(cli, argc, argv, what, "disk", "mount", remove_one);
}
