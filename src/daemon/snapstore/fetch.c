/* SPDX-License-Identifier: MIT */
/* fetch.c: a snapshot directory from S3 (fetch.h). The manifest is untrusted input: its
 * identity must be the one asked for, every chunk's plain bytes must hash to the name it is
 * listed under and have the length its position implies, and the fetched qcow2 header must
 * name exactly the backing file the manifest's identity maps to on this host, so a bad object
 * cannot make QEMU open anything else. */
#include "daemon/snapstore/fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "daemon/host/snapshot.h"
#include "daemon/snapstore/chunk.h"
#include "daemon/snapstore/manifest.h"
#include "daemon/snapstore/qcow2_backing.h"
#include "daemon/snapstore/upload.h"

#define LAYER_DEPTH_MAX 40

struct fx {
    const struct disk_s3 *s;
    const struct snap_paths *p;
    struct snap_xfer_stats *st;
    char *why;
    uint8_t *buf;               /* one chunk, plain */
    size_t buf_size;            /* bytes allocated at buf */
};

/* A buffer for one plain chunk of cs bytes (the manifest's chunk size, at most 64 MiB). */
static int chunk_buf(struct fx *f, uint32_t cs)
{
    if (f->buf_size >= cs)
        return 0;
    uint8_t *b = realloc(f->buf, cs);
    if (!b)
        return -ENOMEM;
    f->buf = b;
    f->buf_size = cs;
    return 0;
}

static int get_manifest(struct fx *f, enum snap_kind kind, const char *id,
                        struct snap_manifest *m)
{
    char key[SNAP_KEY_SIZE];
    int r = snap_manifest_key(kind, id, key, sizeof(key));
    if (r < 0)
        return r;
    uint8_t *text;
    size_t len;
    r = disk_s3_get(f->s, key, SNAP_MANIFEST_MAX, &text, &len, f->why);
    if (r == -ENOENT)
        snprintf(f->why, DISK_S3_WHY_SIZE, "the store has no manifest '%.120s'", key);
    if (r < 0)
        return r;
    const char *w;
    r = snap_manifest_parse((const char *)text, len, m, &w);
    free(text);
    if (r == -EBADMSG)
        snprintf(f->why, DISK_S3_WHY_SIZE, "manifest '%.100s' is invalid: %s", key, w);
    if (r == 0 && (m->kind != kind || strcmp(m->id, id) != 0)) {
        snprintf(f->why, DISK_S3_WHY_SIZE, "manifest '%.100s' names another snapshot", key);
        snap_manifest_release(m);
        r = -EBADMSG;
    }
    return r;
}

static const struct snap_file *find_file(const struct snap_manifest *m, const char *name)
{
    for (size_t i = 0; i < m->n_files; i++)
        if (strcmp(m->files[i].name, name) == 0)
            return &m->files[i];
    return NULL;
}

/* Writes file sf of a manifest with chunk size cs into path (created; holes left unwritten). */
static int write_file(struct fx *f, const struct snap_file *sf, uint32_t cs, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(f->why, DISK_S3_WHY_SIZE, "cannot create '%s' of the snapshot", sf->name);
        return -errno;
    }
    int r = ftruncate(fd, (off_t)sf->size) < 0 ? -errno : chunk_buf(f, cs);
    size_t zcap = ZSTD_compressBound(cs);
    for (size_t i = 0; r == 0 && i < sf->n_chunks; i++) {
        const struct snap_chunk_ref *c = &sf->chunks[i];
        size_t want = (size_t)snap_chunk_len(sf->size, cs, c->index);
        char key[SNAP_CHUNK_KEY_SIZE], sha[SNAP_SHA_HEX];
        snap_chunk_key(c->sha, key);
        uint8_t *z;
        size_t zlen, got = 0;
        r = disk_s3_get(f->s, key, zcap, &z, &zlen, f->why);
        if (r == -ENOENT) {
            snprintf(f->why, DISK_S3_WHY_SIZE, "chunk %.16s… of '%s' is missing in the store",
                     c->sha, sf->name);
            break;
        }
        if (r < 0)
            break;
        r = snap_chunk_decompress(z, zlen, f->buf, cs, &got);
        free(z);
        f->st->wire_bytes += zlen;
        if (r < 0 || got != want || !snap_sha256_hex(f->buf, got, sha) ||
            strcmp(sha, c->sha) != 0) {
            snprintf(f->why, DISK_S3_WHY_SIZE, "chunk %.16s… of '%s' is corrupt in the store "
                     "(its bytes do not match its hash)", c->sha, sf->name);
            r = -EBADMSG;
            break;
        }
        for (size_t off = 0; r == 0 && off < got;) {
            ssize_t k = pwrite(fd, f->buf + off, got - off, (off_t)(c->index * cs + off));
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0) {
                r = k < 0 ? -errno : -EIO;
                snprintf(f->why, DISK_S3_WHY_SIZE, "cannot write '%s' of the snapshot",
                         sf->name);
            }
            off += k > 0 ? (size_t)k : 0;
        }
        f->st->chunks_sent++;
        f->st->plain_bytes += got;
    }
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    close(fd);
    return r;
}

static int ensure_layer(struct fx *f, const char *rel, int depth);

/* Checks that the qcow2 file at path backs onto what m's backing names here, fetching a
 * missing layer under data_dir first. */
static int ensure_backing(struct fx *f, const struct snap_manifest *m, const char *path,
                          int depth)
{
    char want[PATH_MAX] = "", have[PATH_MAX];
    int r = 0;
    if (m->backing == SNAP_BACKING_DATA) {
        r = snap_paths_join(f->p->data_dir, m->backing_path, want, sizeof(want));
        if (r == 0 && access(want, F_OK) != 0)
            r = ensure_layer(f, m->backing_path, depth + 1);
    } else if (m->backing == SNAP_BACKING_IMAGE) {
        r = snap_paths_join(f->p->images_dir, m->backing_path, want, sizeof(want));
        if (r == 0 && access(want, F_OK) != 0) {
            snprintf(f->why, DISK_S3_WHY_SIZE, "base image '%.100s' is not on this host",
                     m->backing_path);
            r = -ENOENT;
        }
    }
    if (r < 0)
        return r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    r = fd < 0 ? -errno : snap_qcow2_backing_fd(fd, have, sizeof(have));
    if (fd >= 0)
        close(fd);
    if (r < 0) {
        snprintf(f->why, DISK_S3_WHY_SIZE, "the fetched disk layer is not qcow2");
        return -EBADMSG;
    }
    /* the header must name the very file the manifest's identity maps to (an image may be
     * reached through images_dir's symlinks) */
    char a[PATH_MAX], b[PATH_MAX];
    bool same = strcmp(have, want) == 0 ||
                (want[0] && have[0] && realpath(have, a) && realpath(want, b) &&
                 strcmp(a, b) == 0);
    if (!same) {
        snprintf(f->why, DISK_S3_WHY_SIZE, "the fetched disk layer backs onto another file "
                                           "than its manifest says");
        return -EBADMSG;
    }
    return 0;
}

/* The layer rel (under data_dir), and the layers under it, unless present. */
static int ensure_layer(struct fx *f, const char *rel, int depth)
{
    if (depth > LAYER_DEPTH_MAX) {
        snprintf(f->why, DISK_S3_WHY_SIZE, "disk chain deeper than %d layers", LAYER_DEPTH_MAX);
        return -ELOOP;
    }
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    int r = snap_paths_join(f->p->data_dir, rel, path, sizeof(path));
    if (r < 0)
        return r;
    snprintf(tmp, sizeof(tmp), "%s.fetch", path);
    struct snap_manifest m;
    r = get_manifest(f, SNAP_KIND_LAYER, rel, &m);
    if (r < 0)
        return r;
    const struct snap_file *sf = find_file(&m, "data");
    char *slash = strrchr(path, '/');
    if (!sf) {
        snprintf(f->why, DISK_S3_WHY_SIZE, "layer manifest '%.100s' has no data", rel);
        r = -EBADMSG;
    }
    if (r == 0 && slash) {
        *slash = '\0';
        r = snap_paths_mkdirs(path);
        *slash = '/';
    }
    (void)unlink(tmp); /* what an earlier failed fetch left */
    if (r == 0)
        r = write_file(f, sf, m.chunk_size, tmp);
    if (r == 0)
        r = ensure_backing(f, &m, tmp, depth);
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0)
        (void)unlink(tmp);
    else
        f->st->layers++;
    snap_manifest_release(&m);
    return r;
}

static int write_text(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return -ENAMETOOLONG;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    size_t n = strlen(text);
    int r = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0 ? 0 : -EIO;
    close(fd);
    return r;
}

static int fetch_dir(struct fx *f, const char *dir)
{
    const char *rel = snap_paths_rel(dir, f->p->data_dir);
    if (!snap_rel_ok(rel)) {
        snprintf(f->why, DISK_S3_WHY_SIZE, "the snapshot is not under data_dir");
        return -EINVAL;
    }
    struct snap_manifest m;
    int r = get_manifest(f, SNAP_KIND_SNAPSHOT, rel, &m);
    if (r < 0)
        return r;
    static const char *const need[] = { "mem", "disk.qcow2", "state" };
    for (size_t i = 0; r == 0 && i < 3; i++)
        if (!find_file(&m, need[i])) {
            snprintf(f->why, DISK_S3_WHY_SIZE, "the manifest has no '%s'", need[i]);
            r = -EBADMSG;
        }
    char tmp[PATH_MAX], top[PATH_MAX];
    snprintf(top, sizeof(top), "%s", dir);
    char *slash = strrchr(top, '/');
    if (slash)
        *slash = '\0';
    if (r == 0 && (size_t)snprintf(tmp, sizeof(tmp), "%s.fetch", dir) >= sizeof(tmp))
        r = -ENAMETOOLONG;
    if (r == 0) {
        (void)snapshot_remove(tmp); /* what an earlier failed fetch left */
        r = snap_paths_mkdirs(tmp);
    }
    for (size_t i = 0; r == 0 && i < m.n_files; i++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof(path), "%s/%s", tmp, m.files[i].name);
        r = write_file(f, &m.files[i], m.chunk_size, path);
        if (r == 0 && strcmp(m.files[i].name, "disk.qcow2") == 0)
            r = ensure_backing(f, &m, path, 0);
    }
    char parent[PATH_MAX];
    if (r == 0 && m.parent[0] &&
        (r = snap_paths_join(f->p->data_dir, m.parent, parent, sizeof(parent))) == 0)
        r = write_text(tmp, "parent", parent);
    if (r == 0)
        r = write_text(tmp, "meta.json", m.meta); /* last, as a pause writes it */
    if (r == 0)
        r = snapshot_fsync_dir(tmp);
    /* an unfinished directory in the way (no meta.json: nothing restores from it) goes */
    if (r == 0 && !snapshot_is_complete(dir))
        (void)snapshot_remove(dir);
    if (r == 0 && rename(tmp, dir) < 0)
        r = -errno;
    if (r == 0)
        r = snapshot_fsync_dir(top);
    if (r < 0)
        (void)snapshot_remove(tmp);
    snap_manifest_release(&m);
    return r;
}

int snap_fetch_snapshot(const struct disk_s3 *s, const struct snap_paths *p, const char *dir,
                        struct snap_xfer_stats *st, char why[DISK_S3_WHY_SIZE])
{
    memset(st, 0, sizeof(*st));
    snprintf(why, DISK_S3_WHY_SIZE, "internal error");
    struct fx f = { .s = s, .p = p, .st = st, .why = why };
    int r = fetch_dir(&f, dir);
    free(f.buf);
    if (r == 0)
        why[0] = '\0';
    return r;
}
