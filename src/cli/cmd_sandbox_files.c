/* SPDX-License-Identifier: MIT */
/* cmd_sandbox_files.c: `hearth sb push` and `sb pull` (docs/cli.md §7.2): files of any size,
 * streamed; a download goes to a temporary name and is renamed when complete. */
#include "cli/commands.h"
#include "cli/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UPLOAD_MAX ((int64_t)2 << 30)

const struct cli_opt cmd_sandbox_files_opts[] = {
    CLI_BOOL("stats", "print bytes, time and rate on stderr"),
    CLI_OPT_END,
};

/* The last path component (without trailing slashes), borrowed from p. */
static const char *base_name(const char *p, char *tmp, size_t n)
{
    snprintf(tmp, n, "%s", p);
    size_t l = strlen(tmp);
    while (l > 1 && tmp[l - 1] == '/')
        tmp[--l] = '\0';
    const char *s = strrchr(tmp, '/');
    return s ? s + 1 : tmp;
}

static void stats(struct cli *cli, const char *verb, uint64_t bytes, uint64_t start_us)
{
    if (!cli_flag(&cli->args, "stats"))
        return;
    double s = (double)(out_now_us() - start_us) / 1e6;
    char b[32], rate[32];
    out_bytes(bytes, b, sizeof(b));
    out_bytes(s > 0 ? (uint64_t)((double)bytes / s) : bytes, rate, sizeof(rate));
    fprintf(stderr, "%s %llu bytes (%s) in %.2fs, %s/s\n", verb, (unsigned long long)bytes, b, s,
            rate);
}

int cmd_sandbox_push(struct cli *cli, int argc, char **argv)
{
    const char *local = argv[1], *remote = argv[2];
    if (remote[0] != '/')
        return cli_usage_error(cli, "remote path '%.80s' must be absolute", remote);
    bool from_stdin = strcmp(local, "-") == 0;
    char *target = NULL;
    char tmp[4096];
    size_t rl = strlen(remote);
    if (remote[rl - 1] == '/') {
        if (from_stdin)
            return cli_usage_error(cli, "remote path '%.80s' names a directory; give a file "
                                        "name when reading stdin",
                                   remote);
        if (asprintf(&target, "%s%s", remote, base_name(local, tmp, sizeof(tmp))) < 0)
            return cli_error(cli, CLI_EXIT_FAIL, "out of memory");
    } else if (!(target = strdup(remote))) {
        return cli_error(cli, CLI_EXIT_FAIL, "out of memory");
    }
    int fd = STDIN_FILENO;
    int64_t size = -1;
    int r = 0;
    if (!from_stdin) {
        fd = open(local, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0) {
            r = cli_error(cli, CLI_EXIT_USAGE, "cannot open '%s': %s", local, strerror(errno));
            goto out;
        }
        if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
            r = cli_usage_error(cli, "'%.80s' is a directory; archive it first (single files "
                                     "only)",
                                local);
            goto out;
        }
        if (S_ISREG(st.st_mode)) {
            size = (int64_t)st.st_size;
            if (size > UPLOAD_MAX) {
                r = cli_error(cli, CLI_EXIT_REJECTED, "'%s' is larger than 2 GiB", local);
                goto out;
            }
        }
    }
    hearth_obj *sb = NULL, *res = NULL;
    r = cli_sandbox_resolve(cli, argv[0], &sb);
    if (r)
        goto out;
    struct hearth_error e;
    uint64_t t0 = out_now_us();
    if (hearth_file_upload_fd(cli->client, hearth_obj_str(sb, "id"), target, fd, size, &res,
                              &e) != HEARTH_OK) {
        r = cli_fail(cli, &e);
    } else {
        stats(cli, "uploaded", (uint64_t)hearth_obj_int(res, "bytes", 0), t0);
        if (cli->settings.json)
            out_json(hearth_obj_json(res));
        else
            printf("%s  %lld bytes\n", hearth_obj_str(res, "path") ?: target,
                   (long long)hearth_obj_int(res, "bytes", 0));
    }
    hearth_obj_free(sb);
    hearth_obj_free(res);
out:
    if (fd >= 0 && fd != STDIN_FILENO)
        close(fd);
    free(target);
    return r;
}

int cmd_sandbox_pull(struct cli *cli, int argc, char **argv)
{
    const char *remote = argv[1], *local = argv[2];
    if (remote[0] != '/')
        return cli_usage_error(cli, "remote path '%.80s' must be absolute", remote);
    bool to_stdout = strcmp(local, "-") == 0;
    char *target = NULL, *tmpname = NULL;
    char tmp[4096];
    struct stat st;
    if (!to_stdout && stat(local, &st) == 0 && S_ISDIR(st.st_mode)) {
        size_t ll = strlen(local);
        if (asprintf(&target, "%s%s%s", local, ll && local[ll - 1] == '/' ? "" : "/",
                     base_name(remote, tmp, sizeof(tmp))) < 0)
            return cli_error(cli, CLI_EXIT_FAIL, "out of memory");
    } else if (!to_stdout && !(target = strdup(local))) {
        return cli_error(cli, CLI_EXIT_FAIL, "out of memory");
    }
    hearth_obj *sb = NULL;
    int fd = STDOUT_FILENO;
    int r = cli_sandbox_resolve(cli, argv[0], &sb);
    if (r)
        goto out;
    if (!to_stdout) {
        /* temporary in the target's directory so the rename stays on one file system */
        char d[4096];
        snprintf(d, sizeof(d), "%s", target);
        char *slash = strrchr(d, '/');
        if (!slash)
            snprintf(d, sizeof(d), ".");
        else if (slash == d)
            d[1] = '\0';
        else
            *slash = '\0';
        if (asprintf(&tmpname, "%s/.hearth-pull.XXXXXX", d) < 0) {
            r = cli_error(cli, CLI_EXIT_FAIL, "out of memory");
            goto out;
        }
        fd = mkostemp(tmpname, O_CLOEXEC);
        if (fd < 0) {
            r = cli_error(cli, CLI_EXIT_FAIL, "cannot create a file in '%s': %s", d,
                          strerror(errno));
            free(tmpname);
            tmpname = NULL;
            goto out;
        }
        mode_t mask = umask(0);
        umask(mask);
        (void)fchmod(fd, 0666 & ~mask); /* mkostemp made it 0600; best effort like cp */
    }
    struct hearth_error e;
    uint64_t bytes = 0, t0 = out_now_us();
    if (hearth_file_download_fd(cli->client, hearth_obj_str(sb, "id"), remote, fd, &bytes,
                                &e) != HEARTH_OK) {
        r = cli_fail(cli, &e);
        goto out;
    }
    if (!to_stdout) {
        if (fsync(fd) < 0 || close(fd) < 0 || rename(tmpname, target) < 0) {
            fd = -1;
            r = cli_error(cli, CLI_EXIT_FAIL, "cannot write '%s': %s", target, strerror(errno));
            goto out;
        }
        fd = -1;
        free(tmpname);
        tmpname = NULL;
    }
    stats(cli, "downloaded", bytes, t0);
    if (!to_stdout) {
        if (cli->settings.json) {
            printf("{\"path\":\"");
            for (const char *p = target; *p; p++)
                printf(*p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
            printf("\",\"bytes\":%llu}\n", (unsigned long long)bytes);
        } else {
            printf("%s  %llu bytes\n", target, (unsigned long long)bytes);
        }
    }
out:
    if (tmpname) {
        if (fd >= 0)
            close(fd);
        (void)unlink(tmpname); /* the partial download is ours and useless */
        free(tmpname);
    }
    hearth_obj_free(sb);
    free(target);
    return r;
}
