/* SPDX-License-Identifier: MIT */
/* cli_config.c: the config file: parsing (hostile lines skipped with a warning), path lookup,
 * loading with the permission check, line-preserving atomic rewrites for `config set|unset`,
 * and the precedence rule of docs/cli.md §2.3. */
#include "cli/cli_config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"

static const char *const key_names[CLI_CFG_NKEYS] = {
    [CLI_CFG_API_URL] = "api_url", [CLI_CFG_API_KEY] = "api_key", [CLI_CFG_OUTPUT] = "output",
    [CLI_CFG_SHAPE] = "shape",     [CLI_CFG_ROOTFS] = "rootfs",
    [CLI_CFG_SSH_GATEWAY] = "ssh_gateway",
};

const char *cli_config_key_name(enum cli_config_key k)
{
    return (unsigned)k < CLI_CFG_NKEYS ? key_names[k] : NULL;
}

int cli_config_key_from_name(const char *name)
{
    for (int i = 0; i < CLI_CFG_NKEYS; i++)
        if (name && strcmp(name, key_names[i]) == 0)
            return i;
    return -1;
}

void cli_config_release(struct cli_config *cfg)
{
    for (int i = 0; i < CLI_CFG_NKEYS; i++) {
        free(cfg->values[i]);
        cfg->values[i] = NULL;
    }
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* One line (without '\n'). Returns 1 and fills key/value (value malloc'd) for a setting, 0 for
 * a blank or comment line, -EINVAL with *why for a bad line, -ENOMEM. */
static int parse_line(const char *s, size_t len, int *ret_key, char **ret_value,
                      const char **why)
{
    if (len > 0 && s[len - 1] == '\r')
        len--;
    if (len > CLI_CONFIG_LINE_MAX) {
        *why = "line too long";
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f) {
            *why = "control character";
            return -EINVAL;
        }
    size_t i = 0;
    while (i < len && is_space(s[i]))
        i++;
    if (i == len || s[i] == '#')
        return 0;
    const char *eq = memchr(s + i, '=', len - i);
    if (!eq) {
        *why = "expected 'key = value'";
        return -EINVAL;
    }
    size_t kend = (size_t)(eq - s);
    while (kend > i && is_space(s[kend - 1]))
        kend--;
    char key[32];
    if (kend - i == 0 || kend - i >= sizeof(key)) {
        *why = kend - i == 0 ? "empty key" : "unknown key";
        return -EINVAL;
    }
    memcpy(key, s + i, kend - i);
    key[kend - i] = '\0';
    int k = cli_config_key_from_name(key);
    if (k < 0) {
        *why = "unknown key";
        return -EINVAL;
    }
    size_t v = (size_t)(eq - s) + 1;
    while (v < len && is_space(s[v]))
        v++;
    char *out = malloc(len - v + 1);
    if (!out)
        return -ENOMEM;
    size_t o = 0;
    if (v < len && s[v] == '"') {
        size_t p = v + 1;
        bool closed = false;
        for (; p < len; p++) {
            if (s[p] == '\\' && p + 1 < len && (s[p + 1] == '"' || s[p + 1] == '\\')) {
                out[o++] = s[++p];
            } else if (s[p] == '"') {
                closed = true;
                p++;
                break;
            } else {
                out[o++] = s[p];
            }
        }
        while (p < len && is_space(s[p]))
            p++;
        if (!closed || (p < len && s[p] != '#')) {
            free(out);
            *why = closed ? "text after the closing quote" : "unterminated quote";
            return -EINVAL;
        }
    } else {
        size_t end = len;
        for (size_t p = v; p < len; p++)
            if (s[p] == '#' && (p == v || is_space(s[p - 1]))) {
                end = p;
                break;
            }
        while (end > v && is_space(s[end - 1]))
            end--;
        memcpy(out, s + v, end - v);
        o = end - v;
    }
    out[o] = '\0';
    *ret_key = k;
    *ret_value = out;
    return 1;
}

int cli_config_parse(const char *text, size_t len, struct cli_config *cfg,
                     cli_config_warn_fn warn, void *ud)
{
    unsigned lineno = 0;
    size_t off = 0;
    while (off < len) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t llen = nl ? (size_t)(nl - (text + off)) : len - off;
        lineno++;
        int key;
        char *value = NULL;
        const char *why = NULL;
        int r = memchr(text + off, '\0', llen) ? (why = "NUL byte", -EINVAL)
                                               : parse_line(text + off, llen, &key, &value, &why);
        if (r == -ENOMEM)
            return r;
        if (r < 0 && warn)
            warn(ud, lineno, why);
        if (r == 1) {
            free(cfg->values[key]);
            cfg->values[key] = value;
        }
        off += llen + (nl ? 1 : 0);
    }
    return 0;
}

int cli_config_path(cli_getenv_fn getenv_fn, char *out, size_t n)
{
    const char *p = getenv_fn("HEARTH_CONFIG");
    int w;
    if (p && *p) {
        w = snprintf(out, n, "%s", p);
    } else if ((p = getenv_fn("XDG_CONFIG_HOME")) && *p) {
        w = snprintf(out, n, "%s/hearth/config", p);
    } else if ((p = getenv_fn("HOME")) && *p) {
        w = snprintf(out, n, "%s/.config/hearth/config", p);
    } else {
        return -ENOENT;
    }
    return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

/* What read_all() takes: it has always kept room for one more 4 KiB read while looking for the
 * end of the file, so a file within 4 KiB of CLI_CONFIG_MAX is refused. */
#define READ_MAX (CLI_CONFIG_MAX - 4096)

static int read_all(const char *path, struct buf *b, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = 0;
    if (fstat(fd, st) < 0) {
        r = -errno;
        goto out;
    }
    if (!S_ISREG(st->st_mode)) {
        r = -EINVAL;
        goto out;
    }
    r = buf_read_fd(b, fd);
out:
    close(fd);
    return r;
}

int cli_config_load(const char *path, struct cli_config *cfg, cli_config_warn_fn warn, void *ud)
{
    struct buf b;
    buf_init(&b, READ_MAX);
    struct stat st;
    int r = read_all(path, &b, &st);
    if (r == -ENOENT) {
        buf_release(&b);
        return 0;
    }
    if (r == 0) {
        if ((st.st_mode & 077) && warn)
            warn(ud, 0, "readable by group or others; run chmod 600 on it");
        r = cli_config_parse((const char *)b.data, b.len, cfg, warn, ud);
    }
    buf_release(&b);
    return r;
}

char *cli_config_quote(const char *value)
{
    bool quote = !*value;
    for (const char *p = value; *p; p++)
        if (*p == '"' || *p == '#' || *p == '\\' || is_space(*p))
            quote = true;
    size_t n = strlen(value);
    char *out = malloc(2 * n + 3);
    if (!out)
        return NULL;
    size_t o = 0;
    if (quote)
        out[o++] = '"';
    for (const char *p = value; *p; p++) {
        if (quote && (*p == '"' || *p == '\\'))
            out[o++] = '\\';
        out[o++] = *p;
    }
    if (quote)
        out[o++] = '"';
    out[o] = '\0';
    return out;
}

static int mkdir_parents(const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return 0;
}

int cli_config_write_key(const char *path, enum cli_config_key key, const char *value)
{
    if ((unsigned)key >= CLI_CFG_NKEYS)
        return -EINVAL;
    if (value && strpbrk(value, "\r\n"))
        return -EINVAL;
    struct buf old, out;
    buf_init(&old, READ_MAX);
    buf_init(&out, CLI_CONFIG_MAX + CLI_CONFIG_LINE_MAX);
    struct stat st;
    char tmp[PATH_MAX];
    char *quoted = NULL;
    int fd = -1;
    int r = read_all(path, &old, &st);
    if (r < 0 && r != -ENOENT)
        goto out;
    if (value && !(quoted = cli_config_quote(value))) {
        r = -ENOMEM;
        goto out;
    }
    bool written = false;
    size_t off = 0;
    const char *text = (const char *)old.data;
    while (off < old.len) {
        const char *nl = memchr(text + off, '\n', old.len - off);
        size_t llen = nl ? (size_t)(nl - (text + off)) : old.len - off;
        int k = -1;
        char *v = NULL;
        const char *why;
        int pr = memchr(text + off, '\0', llen) ? -EINVAL
                                                : parse_line(text + off, llen, &k, &v, &why);
        free(v);
        if (pr == -ENOMEM) {
            r = pr;
            goto out;
        }
        if (pr == 1 && k == (int)key) {
            if (quoted && !written) {
                r = buf_appendf(&out, "%s = %s\n", key_names[key], quoted);
                written = true;
            }
        } else {
            r = buf_append(&out, text + off, llen);
            if (r == 0)
                r = buf_append(&out, "\n", 1);
        }
        if (r < 0)
            goto out;
        off += llen + (nl ? 1 : 0);
    }
    if (quoted && !written && (r = buf_appendf(&out, "%s = %s\n", key_names[key], quoted)) < 0)
        goto out;

    if ((r = mkdir_parents(path)) < 0)
        goto out;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
        r = -ENAMETOOLONG;
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    size_t done = 0;
    while (done < out.len) {
        ssize_t w = write(fd, out.data + done, out.len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            r = -errno;
            goto out_unlink;
        }
        done += (size_t)w;
    }
    if (fchmod(fd, 0600) < 0 || fsync(fd) < 0) {
        r = -errno;
        goto out_unlink;
    }
    if (close(fd) < 0) {
        fd = -1;
        r = -errno;
        goto out_unlink;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        r = -errno;
        goto out_unlink;
    }
    r = 0;
    goto out;
out_unlink:
    (void)unlink(tmp); /* best effort: the temporary is ours and useless now */
out:
    if (fd >= 0)
        close(fd);
    free(quoted);
    buf_release(&old);
    buf_release(&out);
    return r;
}

/* ---- precedence ---- */

const char *cli_source_name(enum cli_source s)
{
    switch (s) {
    case CLI_SRC_FLAG:
        return "flag";
    case CLI_SRC_ENV:
        return "environment";
    case CLI_SRC_CREATEOS_ENV:
        return "CreateOS environment";
    case CLI_SRC_CONFIG:
        return "config file";
    default:
        return "default";
    }
}

static bool set(const char *v)
{
    return v && *v;
}

/* The first non-empty of flag, env, createos env, config. */
static const char *pick(const char *flag, const char *env, const char *cenv, const char *cfg,
                        enum cli_source *src)
{
    if (set(flag))
        return *src = CLI_SRC_FLAG, flag;
    if (set(env))
        return *src = CLI_SRC_ENV, env;
    if (set(cenv))
        return *src = CLI_SRC_CREATEOS_ENV, cenv;
    if (set(cfg))
        return *src = CLI_SRC_CONFIG, cfg;
    *src = CLI_SRC_DEFAULT;
    return NULL;
}

static const char *src_label(enum cli_source s, const char *flag, const char *env,
                             const char *cenv)
{
    switch (s) {
    case CLI_SRC_FLAG:
        return flag;
    case CLI_SRC_ENV:
        return env;
    case CLI_SRC_CREATEOS_ENV:
        return cenv;
    case CLI_SRC_CONFIG:
        return "config file";
    default:
        return "default";
    }
}

int cli_settings_resolve(const struct cli_global_flags *f, cli_getenv_fn getenv_fn,
                         const struct cli_config *cfg, struct cli_settings *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->api_url = pick(f->api_url, getenv_fn("HEARTH_API_URL"),
                        getenv_fn("CREATEOS_SANDBOX_BASE_URL"), cfg->values[CLI_CFG_API_URL],
                        &out->api_url_src);
    if (!out->api_url)
        out->api_url = CLI_DEFAULT_API_URL;
    out->api_key = pick(f->api_key, getenv_fn("HEARTH_API_KEY"),
                        getenv_fn("CREATEOS_SANDBOX_API_KEY"), cfg->values[CLI_CFG_API_KEY],
                        &out->api_key_src);

    const char *output = f->json ? "json" : NULL;
    output = pick(output ? output : f->output, getenv_fn("HEARTH_OUTPUT"), NULL,
                  cfg->values[CLI_CFG_OUTPUT], &out->output_src);
    if (output && strcmp(output, "json") != 0 && strcmp(output, "table") != 0) {
        snprintf(err, errlen, "output '%.40s' from %s is not 'table' or 'json'", output,
                 src_label(out->output_src, "--output", "HEARTH_OUTPUT", NULL));
        return -EINVAL;
    }
    out->json = output && strcmp(output, "json") == 0;

    const char *u = out->api_url;
    const char *label = src_label(out->api_url_src, "--api-url", "HEARTH_API_URL",
                                  "CREATEOS_SANDBOX_BASE_URL");
    bool http = strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0;
    const char *host = http ? strstr(u, "://") + 3 : NULL;
    if (!http || !*host || *host == '/') {
        snprintf(err, errlen, "api url '%.80s' from %s is not an http:// or https:// URL", u,
                 label);
        return -EINVAL;
    }
    if (strpbrk(u, "?#")) {
        snprintf(err, errlen, "api url '%.80s' from %s must not carry a query or fragment", u,
                 label);
        return -EINVAL;
    }
    if (strpbrk(u, " \t\r\n")) {
        snprintf(err, errlen, "api url from %s contains white space", label);
        return -EINVAL;
    }
    return 0;
}
