/* SPDX-License-Identifier: MIT */
/* oci.c: an OCI image from an allowed registry made into a hearth base (oci.h,
 * docs/templates.md "OCI bases"): skopeo finds the manifest digest, the cache answers by it,
 * else skopeo copies the image by digest into a private temporary layout, umoci unpacks it,
 * hearth's guest files go in (oci_tree.c, never outside the tree) and mkfs.ext4 -d writes the
 * sparse file system, renamed into the cache last. */
#include "daemon/tpl/oci.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/mono.h"
#include "daemon/tpl/oci_cmd.h"
#include "daemon/tpl/oci_ref.h"
#include "daemon/tpl/oci_tree.h"

#define INSPECT_TIMEOUT_S 120
#define PULL_TIMEOUT_S 600
#define UNPACK_TIMEOUT_S 600
#define MKFS_TIMEOUT_S 600
#define INSPECT_MAX (1u << 20)          /* skopeo inspect's JSON */
#define MIB (1024ull * 1024)
#define MAX_ENV 1024                    /* Env entries kept from the image config */

struct import {
    const struct tpl_oci_config *c;
    const char *ref;
    struct tpl_oci_ref r;
    bool insecure;
    void (*log)(void *ud, const char *line);
    void *ud;
    char tmp[1100];                     /* private work dir under the cache, "" when none */
    /* the unpack's size watch (watch_unpack) */
    const char *rootfs;
    int64_t watched_us;
    uint64_t unpacked;                  /* the tree's size when the watch stopped it */
    char *err;
    size_t errlen;
};

static void say(struct import *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct import *im, const char *fmt, ...)
{
    if (!im->log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    im->log(im->ud, line);
}

/* skopeo's fatal lines are logrus text (`time=… level=fatal msg="…"`): keep the message. */
static void tidy_tool_error(char *s)
{
    char *m = strstr(s, "msg=\"");
    if (!m)
        return;
    memmove(s, m + 5, strlen(m + 5) + 1);
    size_t n = strlen(s);
    if (n && s[n - 1] == '"')
        s[n - 1] = '\0';
    for (char *p = s; *p; p++) /* logrus escapes quotes */
        if (p[0] == '\\' && p[1] == '"')
            memmove(p, p + 1, strlen(p));
    /* the reference is in our own message already */
    static const char pre[] = "Error parsing image name \"";
    char *q = strncmp(s, pre, sizeof(pre) - 1) == 0 ? strstr(s + sizeof(pre) - 1, "\": ") : NULL;
    if (q)
        memmove(s, q + 3, strlen(q + 3) + 1);
}

static int fail(struct import *im, int r, const char *what, const char *detail)
{
    char d[512];
    snprintf(d, sizeof(d), "%s", detail);
    tidy_tool_error(d);
    snprintf(im->err, im->errlen, "%s '%s': %s", what, im->ref, d);
    return r;
}

/* Adds skopeo's credential and TLS options for a source: only the operator's auth file, never
 * the host user's own logins (--no-creds when none is set). */
static size_t skopeo_src_opts(const struct import *im, const char **argv, size_t n, bool copy)
{
    if (im->c->auth_file[0]) {
        argv[n++] = "--authfile";
        argv[n++] = im->c->auth_file;
    } else {
        argv[n++] = copy ? "--src-no-creds" : "--no-creds";
    }
    if (im->insecure)
        argv[n++] = copy ? "--src-tls-verify=false" : "--tls-verify=false";
    return n;
}

static int run(struct import *im, const char **argv, unsigned timeout_s, char *out, size_t cap,
               int (*watch)(void *), const char *what)
{
    struct oci_cmd cmd = { .argv = (char *const *)argv, .timeout_s = timeout_s, .log = im->log,
                           .ud = im->ud, .watch = watch, .wud = im, .out = out,
                           .out_cap = cap };
    char e[512];
    int r = oci_cmd_run(&cmd, e, sizeof(e));
    if (r < 0 && !(watch && r == -EFBIG))
        return fail(im, r, what, e);
    return r;
}

/* --- the manifest digest and the compressed size --- */

/* skopeo inspect of url (docker://…) with extra (NULL or one option) into a malloc'd JSON. */
static json_t *inspect_json(struct import *im, const char *url, const char *extra, int *ret_r)
{
    const char *argv[12] = { "skopeo", "inspect", "--retry-times", "1" };
    size_t n = skopeo_src_opts(im, argv, 4, false);
    if (extra)
        argv[n++] = extra;
    argv[n++] = url;
    argv[n] = NULL;
    char *out = malloc(INSPECT_MAX);
    if (!out) {
        *ret_r = -ENOMEM;
        return NULL;
    }
    *ret_r = run(im, argv, INSPECT_TIMEOUT_S, out, INSPECT_MAX, NULL, "pull");
    json_t *j = *ret_r < 0 ? NULL : json_loads(out, 0, NULL);
    free(out);
    if (*ret_r == 0 && !j)
        *ret_r = fail(im, -EPROTO, "pull", "skopeo gave no JSON");
    return j;
}

/* The manifest digest, and the sum of the layers' compressed sizes from the raw manifest
 * (0 when it is an index: the unpack's guard still holds). */
static int inspect(struct import *im, char *digest, size_t dlen, uint64_t *ret_layers)
{
    char url[TPL_OCI_REF_MAX + 96];
    snprintf(url, sizeof(url), "docker://%s", im->ref);
    int r;
    json_t *j = inspect_json(im, url, NULL, &r);
    if (!j)
        return r;
    const char *d = json_string_value(json_object_get(j, "Digest"));
    if (!d || strlen(d) != 71 || strncmp(d, "sha256:", 7) != 0 ||
        strspn(d + 7, "0123456789abcdef") != 64)
        r = fail(im, -EPROTO, "pull", "the registry gave no sha256 manifest digest");
    else
        snprintf(digest, dlen, "%s", d);
    json_decref(j);
    if (r < 0)
        return r;
    /* by digest: the manifest measured is the one pulled, whatever the tag does meanwhile */
    snprintf(url, sizeof(url), "docker://%s/%s@%s", im->r.host, im->r.repo, digest);
    j = inspect_json(im, url, "--raw", &r);
    if (!j)
        return r;
    uint64_t sum = 0;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(j, "layers"), i, l) {
        json_int_t s = json_integer_value(json_object_get(l, "size"));
        if (s > 0)
            sum += (uint64_t)s;
    }
    *ret_layers = sum;
    json_decref(j);
    return 0;
}

/* --- the cache entry: <hex>.ext4 and <hex>.json (env, workdir, user) --- */

static int meta_read(const char *path, struct tpl_oci_image *img)
{
    json_t *j = json_load_file(path, 0, NULL);
    if (!j)
        return -ENOENT;
    json_t *env = json_object_get(j, "env");
    size_t n = json_array_size(env);
    int r = 0;
    img->env = calloc(n + 1, sizeof(*img->env));
    if (!img->env)
        r = -ENOMEM;
    for (size_t i = 0; r == 0 && i < n; i++) {
        const char *e = json_string_value(json_array_get(env, i));
        if (e && !(img->env[i] = strdup(e)))
            r = -ENOMEM;
        if (!e)
            r = -EBADMSG;
    }
    snprintf(img->workdir, sizeof(img->workdir), "%s",
             json_string_value(json_object_get(j, "workdir")) ?: "");
    snprintf(img->user, sizeof(img->user), "%s",
             json_string_value(json_object_get(j, "user")) ?: "");
    json_decref(j);
    if (r < 0)
        tpl_oci_image_free(img);
    return r;
}

/* No control byte: a value that ends up in /etc/environment or a log line stays one line. */
static bool one_line(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* The image config's runtime settings into the .json of the cache (path). Entries that are
 * not KEY=value on one line, and overlong values, are dropped: the config is the image's,
 * untrusted. */
static int meta_write(struct import *im, const char *cfg_json, const char *digest,
                      const char *path)
{
    json_t *cj = json_loads(cfg_json, 0, NULL);
    json_t *conf = json_object_get(cj, "config");
    json_t *env = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(conf, "Env"), i, e) {
        const char *s = json_string_value(e);
        /* KEY=value with a key; the build's ENV rules apply to what comes later */
        if (s && s[0] && s[0] != '=' && strchr(s, '=') && json_array_size(env) < MAX_ENV &&
            strlen(s) < 32768 && one_line(s) && !memchr(s, ' ', (size_t)(strchr(s, '=') - s)))
            json_array_append_new(env, json_string(s));
    }
    const char *wd = json_string_value(json_object_get(conf, "WorkingDir"));
    const char *user = json_string_value(json_object_get(conf, "User"));
    if (!one_line(wd))
        wd = NULL;
    if (!one_line(user))
        user = NULL;
    json_t *m = json_pack("{s:s,s:s,s:o,s:s,s:s}", "ref", im->ref, "digest", digest, "env", env,
                          "workdir", wd && strlen(wd) < 1024 ? wd : "", "user",
                          user && strlen(user) < 256 ? user : "");
    json_decref(cj);
    if (!m)
        return fail(im, -ENOMEM, "import", "out of memory");
    int r = json_dump_file(m, path, JSON_COMPACT) < 0 ? -EIO : 0;
    json_decref(m);
    return r < 0 ? fail(im, r, "import", "cannot write the image's settings") : 0;
}

/* --- the unpack's disk guard --- */

/* umoci has no size limit: a layer that inflates without end (a decompression bomb) would fill
 * the host's disk before the finished tree could be measured. So while it runs, the tree is
 * measured about once a second and umoci is killed once it passes the limit. (Watching the
 * file system's free space instead misfires when other writers share the disk.) */
static int watch_unpack(void *ud)
{
    struct import *im = ud;
    int64_t now = mono_now_us();
    if (now - im->watched_us < 1000000)
        return 0;
    im->watched_us = now;
    uint64_t size;
    /* a walk that meets a file being replaced fails: no verdict this time */
    if (oci_tree_size(im->rootfs, &size) == 0 && size > im->c->max_image_mib * MIB) {
        im->unpacked = size;
        return -EFBIG;
    }
    return 0;
}

/* --- hearth's guest files --- */

static const char HOSTS[] = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"
                            "127.0.1.1 sandbox\n";

/* What images/rootfs/common.sh's rootfs_finish writes into every catalog image. */
static int add_guest_files(struct import *im, int root)
{
    static const char *const dirs[] = { "proc", "sys", "dev", "run", "tmp", "root", "etc",
                                        "sbin", "var/tmp" };
    int r = 0;
    const char *what = "";
    for (size_t i = 0; r == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++)
        r = oci_tree_mkdirs(root, what = dirs[i], 0755);
    if (r == 0)
        r = oci_tree_chmod_dir(root, what = "tmp", 01777);
    if (r == 0)
        r = oci_tree_chmod_dir(root, what = "var/tmp", 01777);
    if (r == 0)
        r = oci_tree_copy(root, what = "sbin/hearth-agent", im->c->agent_path, 0755);
    if (r == 0)
        r = oci_tree_write(root, what = "etc/hostname", "sandbox\n", 8, 0644);
    /* we own the guest's name resolution: ours replaces the image's */
    if (r == 0)
        r = oci_tree_write(root, what = "etc/hosts", HOSTS, sizeof(HOSTS) - 1, 0644);
    if (r == 0)
        r = oci_tree_write(root, what = "etc/fstab", "", 0, 0644);
    if (r < 0) {
        char d[256];
        snprintf(d, sizeof(d), "cannot add /%s to the image: %s", what, strerror(-r));
        return fail(im, r, "import", d);
    }
    return 0;
}

static const char *host_resize2fs(void)
{
    return access("/sbin/resize2fs", X_OK) == 0 ? "/sbin/resize2fs" : "/usr/sbin/resize2fs";
}

/* hearthd grows a guest's file system with resize2fs in the guest (docs/images.md). An image
 * without one gets the host's, with the shared libraries ldd names at their paths, each only
 * where the image has no file of that name (an image's own libc stays, like minimal.sh). */
static int add_resize2fs(struct import *im, int root)
{
    static const char *const where[] = { "sbin/resize2fs", "usr/sbin/resize2fs",
                                         "bin/resize2fs", "usr/bin/resize2fs" };
    for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
        if (oci_tree_exists(root, where[i]))
            return 0;
    const char *bin = host_resize2fs();
    char out[8192];
    const char *argv[] = { "ldd", bin, NULL };
    int r = run(im, argv, 30, out, sizeof(out), NULL, "import");
    if (r < 0)
        return r;
    say(im, "adding /sbin/resize2fs (the image has none)");
    r = oci_tree_copy(root, "sbin/resize2fs", bin, 0755);
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); r == 0 && line;
         line = strtok_r(NULL, "\n", &save)) {
        /* "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "\t/lib64/ld-linux….so.2 (…)" */
        char *p = strstr(line, "=> ");
        p = p ? p + 3 : line + strspn(line, " \t");
        if (*p != '/')
            continue;
        p[strcspn(p, " ")] = '\0';
        const char *rel = p + 1;
        if (oci_tree_exists(root, rel))
            continue;
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", rel);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = '\0';
            r = oci_tree_mkdirs(root, dir, 0755);
        }
        if (r == 0)
            r = oci_tree_copy(root, rel, p, 0755);
    }
    if (r < 0)
        return fail(im, r, "import", "cannot add resize2fs to the image");
    return 0;
}

/* --- the import --- */

static int mkdir_p(const char *path, mode_t mode)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p))
        return -ENAMETOOLONG;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            return -errno;
        *s = '/';
    }
    if (mkdir(p, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* Work directories of this digest that a crashed hearthd left (".tmp-<hex16>-*"): ours to
 * remove, since we hold the digest's lock. */
static void remove_stale_work(struct import *im, const char *dir, const char *hex)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char prefix[32];
    snprintf(prefix, sizeof(prefix), ".tmp-%.16s-", hex);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        char p[PATH_MAX];
        if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) < sizeof(p) &&
            oci_tree_remove(p) == 0)
            say(im, "removed the stale work directory %s", e->d_name);
    }
    closedir(d);
}

static int cache_hit(const char *img, const char *meta, const char *digest,
                     struct tpl_oci_image *ret)
{
    if (access(img, R_OK) < 0 || meta_read(meta, ret) < 0)
        return -ENOENT;
    snprintf(ret->image, sizeof(ret->image), "%s", img);
    snprintf(ret->digest, sizeof(ret->digest), "%s", digest);
    return 0;
}

/* Pull, unpack, add, mkfs: the cache entry for digest, built in im->tmp. */
static int build(struct import *im, const char *digest, uint64_t layers, const char *img,
                 const char *meta)
{
    const struct tpl_oci_config *c = im->c;
    uint64_t max = c->max_image_mib * MIB;
    if (layers > max) {
        char d[160];
        snprintf(d, sizeof(d), "image layers are %llu MiB compressed, over the %llu MiB limit",
                 (unsigned long long)((layers + MIB - 1) / MIB), (unsigned long long)c->max_image_mib);
        return fail(im, -EFBIG, "import", d);
    }
    char layout[PATH_MAX + 8], src[TPL_OCI_REF_MAX + 96], rootfs[PATH_MAX], file[PATH_MAX],
        json[PATH_MAX];
    snprintf(layout, sizeof(layout), "oci:%s/layout:img", im->tmp);
    snprintf(src, sizeof(src), "docker://%s/%s@%s", im->r.host, im->r.repo, digest);
    snprintf(rootfs, sizeof(rootfs), "%s/rootfs", im->tmp);
    snprintf(file, sizeof(file), "%s/image.ext4", im->tmp);
    snprintf(json, sizeof(json), "%s/image.json", im->tmp);

    say(im, "pulling %s (%s)", im->ref, digest);
    const char *cp[14] = { "skopeo", "copy", "--quiet", "--retry-times", "1" };
    size_t n = skopeo_src_opts(im, cp, 5, true);
    cp[n++] = src;
    cp[n++] = layout;
    cp[n] = NULL;
    int r = run(im, cp, PULL_TIMEOUT_S, NULL, 0, NULL, "pull");
    if (r < 0)
        return r;

    /* the config blob of what was pulled, read from the local layout */
    const char *ci[] = { "skopeo", "inspect", "--config", layout, NULL };
    char *cfg = malloc(INSPECT_MAX);
    if (!cfg)
        return -ENOMEM;
    r = run(im, ci, INSPECT_TIMEOUT_S, cfg, INSPECT_MAX, NULL, "import");
    if (r == 0)
        r = meta_write(im, cfg, digest, json);
    free(cfg);
    if (r < 0)
        return r;

    say(im, "unpacking");
    im->rootfs = rootfs;
    const char *un[] = { "umoci", "raw", "unpack", "--image", layout + 4, rootfs, NULL };
    r = run(im, un, UNPACK_TIMEOUT_S, NULL, 0, watch_unpack, "unpack");
    uint64_t size = im->unpacked;
    if (r == -EFBIG || (r == 0 && oci_tree_size(rootfs, &size) == 0 && size > max)) {
        char d[160];
        snprintf(d, sizeof(d), "image is %s%llu MiB unpacked, over the %llu MiB limit",
                 r == -EFBIG ? "at least " : "", (unsigned long long)((size + MIB - 1) / MIB),
                 (unsigned long long)c->max_image_mib);
        return fail(im, -EFBIG, "import", d);
    }
    if (r < 0)
        return r;

    int root = oci_tree_open(rootfs);
    if (root < 0)
        return fail(im, root, "unpack", "no root file system");
    r = add_guest_files(im, root);
    if (r == 0)
        r = add_resize2fs(im, root);
    close(root);
    if (r < 0)
        return r;

    say(im, "making the file system (%d MiB)", TPL_OCI_FS_MIB);
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)TPL_OCI_FS_MIB * (off_t)MIB) < 0) {
        r = -errno;
        if (fd >= 0)
            close(fd);
        return fail(im, r, "import", strerror(-r));
    }
    close(fd);
    /* the options of images/rootfs/common.sh's rootfs_mkfs: no journal, root owned by root */
    const char *mk[] = { "mkfs.ext4", "-q", "-F", "-L", "hearth-root", "-E", "root_owner=0:0",
                         "-O", "^has_journal", "-d", rootfs, file, NULL };
    r = run(im, mk, MKFS_TIMEOUT_S, NULL, 0, NULL, "import");
    if (r < 0)
        return r;
    /* the .json first, the image last: an .ext4 in the cache is always complete */
    if (rename(json, meta) < 0 || rename(file, img) < 0)
        return fail(im, -errno, "import", strerror(errno));
    return 0;
}

int tpl_oci_import(const struct tpl_oci_config *c, const char *ref,
                   void (*log)(void *ud, const char *line), void *ud, struct tpl_oci_image *ret,
                   char *err, size_t errlen)
{
    memset(ret, 0, sizeof(*ret));
    err[0] = '\0';
    struct import im = { .c = c, .ref = ref, .log = log, .ud = ud, .err = err, .errlen = errlen };
    const char *why;
    if (tpl_oci_ref_parse(ref, &im.r, &why) < 0) {
        snprintf(err, errlen, "bad image reference: %s", why);
        return -EINVAL;
    }
    size_t reg;
    if (!tpl_oci_ref_allowed(c, ref, &reg)) {
        snprintf(err, errlen, "registry '%s' is not allowed (oci_registries)", im.r.host);
        return -EPERM;
    }
    im.insecure = c->reg[reg].insecure;
    /* skopeo's oci: transport splits at ':'; the cache must not have one */
    if (!c->cache_dir[0] || strchr(c->cache_dir, ':') || !c->agent_path[0])
        return fail(&im, -EINVAL, "import", "bad cache_dir or agent_path");
    int r = mkdir_p(c->cache_dir, 0700);
    if (r < 0)
        return fail(&im, r, "import", "cannot make the cache directory");

    char digest[80];
    uint64_t layers = 0;
    r = inspect(&im, digest, sizeof(digest), &layers);
    if (r < 0)
        return r;
    const char *hex = digest + 7;
    char img[PATH_MAX], meta[PATH_MAX], lock[PATH_MAX];
    snprintf(img, sizeof(img), "%s/%s.ext4", c->cache_dir, hex);
    snprintf(meta, sizeof(meta), "%s/%s.json", c->cache_dir, hex);
    snprintf(lock, sizeof(lock), "%s/%s.lock", c->cache_dir, hex);
    if (cache_hit(img, meta, digest, ret) == 0) {
        say(&im, "using the cached %s (%s)", ref, digest);
        return 0;
    }
    /* one import per digest at a time: a second waits, then finds the first's result */
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0 || flock(lfd, LOCK_EX) < 0) {
        r = -errno;
        if (lfd >= 0)
            close(lfd);
        return fail(&im, r, "import", "cannot lock the cache entry");
    }
    if (cache_hit(img, meta, digest, ret) == 0) {
        say(&im, "using the cached %s (%s)", ref, digest);
        close(lfd);
        return 0;
    }
    remove_stale_work(&im, c->cache_dir, hex);
    /* private to root (mkdtemp's 0700): the unpacked tree may hold setuid files and device
     * nodes, which no other host user may reach */
    snprintf(im.tmp, sizeof(im.tmp), "%s/.tmp-%.16s-XXXXXX", c->cache_dir, hex);
    if (!mkdtemp(im.tmp)) {
        r = -errno;
        im.tmp[0] = '\0';
        fail(&im, r, "import", "cannot make a work directory");
    } else {
        r = build(&im, digest, layers, img, meta);
    }
    if (im.tmp[0] && oci_tree_remove(im.tmp) < 0)
        say(&im, "cannot remove %s", im.tmp);
    /* the lock file stays (empty, one per digest): unlinking it would let a newcomer lock a
     * new inode while a waiter holds the old one, and the stale-work removal needs the lock
     * to be exclusive */
    close(lfd);
    if (r < 0)
        return r;
    r = cache_hit(img, meta, digest, ret);
    if (r < 0)
        return fail(&im, r, "import", "the cache entry vanished");
    say(&im, "imported %s (%s)", ref, digest);
    return 0;
}

void tpl_oci_image_free(struct tpl_oci_image *img)
{
    if (!img || !img->env)
        return;
    for (char **e = img->env; *e; e++)
        free(*e);
    free(img->env);
    img->env = NULL;
}
