/* SPDX-License-Identifier: MIT */
/* ssh_guest.c: the SSH path into a guest's own sshd, shared by `hearth sb ssh --tunnel` and
 * `hearth sb shell --ssh` (ssh_guest.h, docs/ingress-ssh.md "Through a tunnel to the guest's own
 * sshd"): the key through POST …/ssh-pubkeys, sshd started through exec, then the system ssh
 * with this binary's `sb tunnel --stdio` as ProxyCommand and a known_hosts file per sandbox. */
#include "cli/ssh_guest.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/output.h"

/* Exit codes of the start script that mean something to the user. */
#define NO_SSHD 90
#define NO_USER 91

/* $1 user, $2 the public key line. Run as root by exec. Idempotent: an sshd already running
 * (its pid file names a live sshd) is left alone, and a lock keeps two callers from starting
 * two. ssh-keygen -A makes only the host keys that are missing: none are in the image, so each
 * sandbox gets its own on the first start (docs/images.md). The lock's fd is closed for sshd,
 * which would otherwise hold it for good. Root's authorized_keys is hearthd's (POST
 * …/ssh-pubkeys); another user gets the key in their own file here. */
static const char start_script[] =
    "set -e\n"
    "[ -x /usr/sbin/sshd ] || { echo 'no /usr/sbin/sshd' >&2; exit 90; }\n"
    "if [ \"$1\" != root ] && [ -n \"$2\" ]; then\n"
    "  home=$(getent passwd \"$1\" | cut -d: -f6)\n"
    "  [ -n \"$home\" ] || { echo \"no user $1\" >&2; exit 91; }\n"
    "  mkdir -p \"$home/.ssh\"; touch \"$home/.ssh/authorized_keys\"\n"
    "  grep -qxF -- \"$2\" \"$home/.ssh/authorized_keys\" ||\n"
    "    printf '%s\\n' \"$2\" >> \"$home/.ssh/authorized_keys\"\n"
    "  chown -R \"$1:\" \"$home/.ssh\"\n"
    "  chmod 700 \"$home/.ssh\"; chmod 600 \"$home/.ssh/authorized_keys\"\n"
    "fi\n"
    "exec 9>/run/hearth-sshd.lock\n"
    "flock 9\n"
    "pid=$(cat /run/sshd.pid 2>/dev/null || true)\n"
    "if [ -n \"$pid\" ] && [ \"$(cat /proc/$pid/comm 2>/dev/null)\" = sshd ]; then\n"
    "  echo running; exit 0\n"
    "fi\n"
    "ssh-keygen -A >/dev/null\n"
    "mkdir -p /run/sshd; chmod 755 /run/sshd\n"
    "/usr/sbin/sshd 9>&-\n"
    "echo started\n";

char *cli_ssh_default_identity(void)
{
    static const char *const names[] = { "id_ed25519", "id_ecdsa", "id_rsa" };
    const char *home = getenv("HOME");
    if (!home || !home[0])
        return NULL;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *p = NULL;
        if (asprintf(&p, "%s/.ssh/%s", home, names[i]) < 0)
            return NULL;
        if (access(p, R_OK) == 0)
            return p;
        free(p);
    }
    return NULL;
}

int cli_ssh_ensure_key(struct cli *cli, hearth_obj *sb, const char *pub)
{
    size_t keylen = strcspn(pub, " ");
    keylen += pub[keylen] ? 1 + strcspn(pub + keylen + 1, " ") : 0;
    size_t n = hearth_obj_array_len(sb, "ssh_pubkeys");
    for (size_t i = 0; i < n; i++) {
        const char *k = hearth_obj_array_str(sb, "ssh_pubkeys", i);
        if (k && strncmp(k, pub, keylen) == 0 && (k[keylen] == '\0' || k[keylen] == ' '))
            return 0;
    }
    const char *keys[] = { pub };
    hearth_obj *res = NULL;
    struct hearth_error e;
    int r = hearth_sandbox_add_ssh_keys(cli->client, hearth_obj_str(sb, "id"), keys, 1, &res, &e);
    hearth_obj_free(res);
    if (r != HEARTH_OK)
        return cli_fail(cli, &e);
    if (cli->stderr_tty)
        fprintf(stderr, "added your public key to %s\n", hearth_obj_str(sb, "name"));
    return 0;
}

/* Runs the start script in the sandbox. 0 or an exit code after printing why. */
static int start_sshd(struct cli *cli, hearth_obj *sb, const char *user, const char *pub)
{
    hearth_body *b = hearth_body_new();
    if (!b || hearth_body_set_str(b, "cmd", "/bin/sh") || hearth_body_append_str(b, "args", "-c") ||
        hearth_body_append_str(b, "args", start_script) ||
        hearth_body_append_str(b, "args", "hearth-sshd") ||
        hearth_body_append_str(b, "args", user) ||
        hearth_body_append_str(b, "args", pub ? pub : "") ||
        hearth_body_set_int(b, "timeout_ms", 120000)) {
        hearth_body_free(b);
        return cli_error(cli, CLI_EXIT_FAIL, "out of memory");
    }
    hearth_obj *res = NULL;
    struct hearth_error e;
    int r = hearth_exec(cli->client, hearth_obj_str(sb, "id"), b, &res, &e);
    hearth_body_free(b);
    if (r != HEARTH_OK)
        return cli_fail(cli, &e);
    int64_t code = hearth_obj_int(res, "result.exit_code", -1);
    const char *err = hearth_obj_str(res, "result.stderr");
    const char *name = hearth_obj_str(sb, "name");
    int rc = 0;
    if (code == NO_SSHD)
        rc = cli_error(cli, CLI_EXIT_REJECTED, "the image of %s (%s) has no /usr/sbin/sshd; use "
                       "`hearth sb shell %s` without --ssh, the SSH gateway (`hearth sb ssh %s`), "
                       "or an image with sshd such as devbox:1", name,
                       hearth_obj_str(sb, "rootfs") ? hearth_obj_str(sb, "rootfs") : "?", name,
                       name);
    else if (code == NO_USER)
        rc = cli_error(cli, CLI_EXIT_USAGE, "no user '%s' in %s", user, name);
    else if (code != 0) {
        if (!err || !err[0])
            err = hearth_obj_str(res, "result.error");
        rc = cli_error(cli, CLI_EXIT_FAIL, "cannot start sshd in %s (exit %lld): %.300s", name,
                       (long long)code, err && err[0] ? err : "no message");
    }
    else if (cli->debug)
        fprintf(stderr, "sshd in %s: %s", name, hearth_obj_str(res, "result.stdout"));
    hearth_obj_free(res);
    return rc;
}

int cli_ssh_known_hosts_path(struct cli *cli, const char *id, char *out, size_t n)
{
    char dir[sizeof(cli->config_path)];
    if (!cli->config_path[0])
        return -ENOENT;
    snprintf(dir, sizeof(dir), "%s", cli->config_path);
    char *d = dirname(dir);
    char path[PATH_MAX];
    int w = snprintf(path, sizeof(path), "%s/known_hosts.d", d);
    if (w < 0 || (size_t)w >= sizeof(path))
        return -ENAMETOOLONG;
    /* the config dir first (it may not exist before the first `config set`), then ours */
    if ((mkdir(d, 0700) < 0 && errno != EEXIST) || (mkdir(path, 0700) < 0 && errno != EEXIST))
        return -errno;
    w = snprintf(out, n, "%s/%s", path, id);
    return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

/* An id is "sb-" and a ULID; anything else would not be a safe file name. */
static bool id_ok(const char *id)
{
    if (!id || !id[0] || strlen(id) > 64)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-'))
            return false;
    return true;
}

int cli_ssh_guest(struct cli *cli, const char *ref, const char *identity, const char *user,
                  int ncmd, char **cmd)
{
    if (ncmd > 64)
        return cli_usage_error(cli, "too many command arguments (at most 64)");
    if (!user || !user[0])
        user = "root";
    if (strspn(user, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            strlen(user) || user[0] == '-' || strlen(user) > 32)
        return cli_usage_error(cli, "bad user name '%.40s'", user);
    char *ident = identity ? strdup(identity) : cli_ssh_default_identity();
    hearth_obj *sb = NULL;
    char *pub = NULL;
    int rc = cli_sandbox_resolve(cli, ref, &sb);
    if (rc)
        goto out;
    const char *id = hearth_obj_str(sb, "id");
    if (!id_ok(id)) {
        rc = cli_error(cli, CLI_EXIT_FAIL, "the server sent a sandbox id that is not one");
        goto out;
    }
    pub = ident ? cli_read_pubkey(cli, ident) : NULL;
    if (ident && !pub) {
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (pub && (rc = cli_ssh_ensure_key(cli, sb, pub)) != 0)
        goto out;
    if ((rc = start_sshd(cli, sb, user, pub)) != 0)
        goto out;

    char self[PATH_MAX], proxy[PATH_MAX + 128], alias[128], khfile[PATH_MAX + 32];
    char kh[PATH_MAX], target[128];
    ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (l <= 0) {
        rc = cli_error(cli, CLI_EXIT_FAIL, "cannot find the hearth binary: %s", strerror(errno));
        goto out;
    }
    self[l] = '\0';
    int r = cli_ssh_known_hosts_path(cli, id, kh, sizeof(kh));
    if (r < 0) {
        /* still usable, but without a memory of the guest's host key */
        fprintf(stderr, "hearth: no place for a known_hosts file (%s); the guest's host key "
                "is not remembered\n", strerror(-r));
        snprintf(kh, sizeof(kh), "/dev/null");
    }
    /* the key travels in the environment, never on a command line others can read */
    if (setenv("HEARTH_API_URL", cli->settings.api_url, 1) < 0 ||
        (cli->settings.api_key && setenv("HEARTH_API_KEY", cli->settings.api_key, 1) < 0)) {
        rc = cli_error(cli, CLI_EXIT_FAIL, "out of memory");
        goto out;
    }
    snprintf(proxy, sizeof(proxy), "ProxyCommand='%s' sb tunnel %s --remote 22 --stdio", self,
             id);
    snprintf(alias, sizeof(alias), "HostKeyAlias=%s", id);
    snprintf(khfile, sizeof(khfile), "UserKnownHostsFile=\"%s\"", kh); /* spaces */
    snprintf(target, sizeof(target), "%s@%s", user, id);
    const char *args[64 + 24];
    size_t n = 0;
    args[n++] = "ssh";
    args[n++] = "-o";
    args[n++] = proxy;
    args[n++] = "-o";
    args[n++] = alias;
    args[n++] = "-o";
    args[n++] = khfile;
    args[n++] = "-o";
    args[n++] = "StrictHostKeyChecking=accept-new";
    args[n++] = "-o"; /* the file is named by the id already: hashing would hide nothing */
    args[n++] = "HashKnownHosts=no";
    if (ident) {
        args[n++] = "-i";
        args[n++] = ident;
    }
    args[n++] = target;
    if (ncmd > 0) {
        args[n++] = "--";
        for (int i = 0; i < ncmd; i++)
            args[n++] = cmd[i];
    }
    args[n] = NULL;
    fflush(NULL);
    execvp("ssh", (char **)args);
    rc = cli_error(cli, CLI_EXIT_EXEC_NOT_STARTED, "cannot run ssh: %s; install an OpenSSH "
                   "client", strerror(errno));
out:
    hearth_obj_free(sb);
    free(pub);
    free(ident);
    return rc;
}
