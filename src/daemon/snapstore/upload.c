/* SPDX-License-Identifier: MIT */
/* upload.c: one snapshot directory to S3 (upload.h). Files are read with pread in chunk-sized
 * pieces; SEEK_DATA skips the holes of a sparse RAM file without reading them. A chunk's
 * object is written only when a HEAD says the store lacks it, so equal chunks of forks, golden
 * snapshots and templates are stored once. The files are never written here: a snapshot is
 * frozen once meta.json exists. */
#include "daemon/snapstore/upload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/snapstore/chunk.h"
#include "daemon/snapstore/manifest.h"
#include "daemon/snapstore/qcow2_backing.h"

#define LAYER_DEPTH_MAX 40      /* qcow2 chains deeper than this are refused (the jail: 32) */

struct up {
    const struct disk_s3 *s;
    const struct snap_paths *p;
    struct snap_xfer_ctl *x;
    struct snap_xfer_stats *st;
    char *why;
    uint8_t *buf;               /* one chunk */
};

static bool cancelled(const struct up *u)
{
    return u->x && atomic_load(&u->x->cancel);
}

/* Whether [off, off + len) of fd holds no data extent (a hole: reads as zeros). */
static bool is_hole(int fd, off_t off, size_t len)
{
    off_t d = lseek(fd, off, SEEK_DATA);
    return (d < 0 && errno == ENXIO) || (d >= 0 && d >= off + (off_t)len);
}

/* Every chunk of fd into f (name set by the caller). */
static int upload_file(struct up *u, int fd, struct snap_file *f)
{
    struct stat sb;
    if (fstat(fd, &sb) < 0)
        return -errno;
    f->size = (uint64_t)sb.st_size;
    uint64_t n = (f->size + SNAP_CHUNK_SIZE - 1) / SNAP_CHUNK_SIZE;
    for (uint64_t i = 0; i < n; i++) {
        if (cancelled(u)) {
            snprintf(u->why, DISK_S3_WHY_SIZE, "cancelled");
            return -ECANCELED;
        }
        size_t len = (size_t)snap_chunk_len(f->size, SNAP_CHUNK_SIZE, i);
        off_t off = (off_t)(i * SNAP_CHUNK_SIZE);
        if (is_hole(fd, off, len)) {
            u->st->holes++;
            continue;
        }
        size_t got = 0;
        while (got < len) {
            ssize_t k = pread(fd, u->buf + got, len - got, off + (off_t)got);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0) {
                snprintf(u->why, DISK_S3_WHY_SIZE, "cannot read '%s'", f->name);
                return k < 0 ? -errno : -EIO;
            }
            got += (size_t)k;
        }
        if (snap_chunk_is_zero(u->buf, len)) {
            u->st->holes++;
            continue;
        }
        char sha[SNAP_SHA_HEX], key[SNAP_CHUNK_KEY_SIZE];
        if (!snap_sha256_hex(u->buf, len, sha))
            return -EIO;
        snap_chunk_key(sha, key);
        int r = disk_s3_head_object(u->s, key, u->why);
        if (r == 0) {
            u->st->chunks_present++;
        } else if (r == -ENOENT) {
            uint8_t *z;
            size_t zlen;
            r = snap_chunk_compress(u->buf, len, &z, &zlen);
            if (r < 0) {
                snprintf(u->why, DISK_S3_WHY_SIZE, "cannot compress a chunk");
                return r;
            }
            r = disk_s3_put(u->s, key, z, zlen, u->why);
            free(z);
            if (r < 0)
                return r;
            u->st->chunks_sent++;
            u->st->wire_bytes += zlen;
        } else {
            return r;
        }
        r = snap_file_add_chunk(f, i, sha);
        if (r < 0)
            return r;
        u->st->plain_bytes += len;
        if (u->x)
            atomic_fetch_add(&u->x->done_bytes, len);
    }
    return 0;
}

/* What the qcow2 file on fd backs onto, as an identity: m->backing and m->backing_path. For a
 * file under data_dir also its local path in local (else ""). */
static int backing_of(struct up *u, int fd, struct snap_manifest *m, char local[PATH_MAX])
{
    local[0] = '\0';
    char name[PATH_MAX];
    int r = snap_qcow2_backing_fd(fd, name, sizeof(name));
    if (r < 0) {
        snprintf(u->why, DISK_S3_WHY_SIZE, "cannot read the disk layer's qcow2 header");
        return r;
    }
    m->backing = SNAP_BACKING_NONE;
    if (!name[0])
        return 0;
    const char *rel = snap_paths_rel(name, u->p->data_dir);
    if (name[0] == '/' && rel[0] && snap_rel_ok(rel)) {
        m->backing = SNAP_BACKING_DATA;
        snprintf(m->backing_path, sizeof(m->backing_path), "%s", rel);
        snprintf(local, PATH_MAX, "%s", name);
        return 0;
    }
    if (name[0] == '/' &&
        snap_paths_image_rel(u->p, name, m->backing_path, sizeof(m->backing_path)) == 0) {
        m->backing = SNAP_BACKING_IMAGE;
        return 0;
    }
    snprintf(u->why, DISK_S3_WHY_SIZE, "the disk backs onto a file outside data_dir and "
                                       "images_dir");
    return -EXDEV;
}

static int put_manifest(struct up *u, const struct snap_manifest *m, char *key, size_t size)
{
    int r = snap_manifest_key(m->kind, m->id, key, size);
    if (r < 0)
        return r;
    char *text = snap_manifest_to_json(m);
    if (!text)
        return -ENOMEM;
    r = disk_s3_put(u->s, key, text, strlen(text), u->why);
    free(text);
    return r;
}

/* The layer at path (under data_dir) and what it backs onto, unless the store has its
 * manifest already (a layer never changes once something backs onto it). */
static int upload_layer(struct up *u, const char *path, int depth)
{
    if (depth > LAYER_DEPTH_MAX) {
        snprintf(u->why, DISK_S3_WHY_SIZE, "disk chain deeper than %d layers", LAYER_DEPTH_MAX);
        return -ELOOP;
    }
    struct snap_manifest m;
    snap_manifest_init(&m);
    m.kind = SNAP_KIND_LAYER;
    m.chunk_size = SNAP_CHUNK_SIZE;
    snprintf(m.id, sizeof(m.id), "%s", snap_paths_rel(path, u->p->data_dir));
    char key[SNAP_KEY_SIZE];
    int r = snap_manifest_key(m.kind, m.id, key, sizeof(key));
    if (r == 0 && !snap_rel_ok(m.id))
        r = -EINVAL;
    if (r == 0) {
        r = disk_s3_head_object(u->s, key, u->why);
        if (r == 0) /* stored already */
            return 0;
        if (r == -ENOENT)
            r = 0;
    }
    int fd = r == 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (r == 0 && fd < 0) {
        r = -errno;
        snprintf(u->why, DISK_S3_WHY_SIZE, "cannot open a disk layer the snapshot needs");
    }
    char below[PATH_MAX];
    if (r == 0)
        r = backing_of(u, fd, &m, below);
    if (r == 0 && below[0])
        r = upload_layer(u, below, depth + 1);
    if (r == 0) {
        snprintf(m.files[0].name, sizeof(m.files[0].name), "data");
        m.n_files = 1;
        r = upload_file(u, fd, &m.files[0]);
    }
    if (fd >= 0)
        close(fd);
    if (r == 0)
        r = put_manifest(u, &m, key, sizeof(key));
    if (r == 0)
        u->st->layers++;
    snap_manifest_release(&m);
    return r;
}

/* Reads a small file of dir (at most cap bytes) into a new NUL-terminated string. */
static int read_small(const char *dir, const char *name, size_t cap, char **ret)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char *b = malloc(cap + 1);
    ssize_t n = b ? read(fd, b, cap + 1) : -1;
    int r = !b ? -ENOMEM : n < 0 ? -errno : (size_t)n > cap ? -EFBIG : 0;
    close(fd);
    if (r < 0) {
        free(b);
        return r;
    }
    b[n] = '\0';
    *ret = b;
    return 0;
}

static int upload_dir(struct up *u, const char *dir, char key[SNAP_KEY_SIZE])
{
    static const char *const files[] = { "mem", "disk.qcow2", "state" };
    struct snap_manifest m;
    snap_manifest_init(&m);
    m.kind = SNAP_KIND_SNAPSHOT;
    m.chunk_size = SNAP_CHUNK_SIZE;
    const char *rel = snap_paths_rel(dir, u->p->data_dir);
    if (!snap_rel_ok(rel)) {
        snprintf(u->why, DISK_S3_WHY_SIZE, "the snapshot is not under data_dir");
        return -EINVAL;
    }
    snprintf(m.id, sizeof(m.id), "%s", rel);
    int r = read_small(dir, "meta.json", SNAP_META_MAX, &m.meta);
    if (r < 0)
        snprintf(u->why, DISK_S3_WHY_SIZE, "the snapshot has no meta.json (unfinished)");
    char *parent = NULL;
    if (r == 0 && read_small(dir, "parent", PATH_MAX, &parent) == 0) {
        size_t n = strlen(parent);
        if (n && parent[n - 1] == '\n')
            parent[n - 1] = '\0';
        const char *prel = snap_paths_rel(parent, u->p->data_dir);
        if (parent[0] && snap_rel_ok(prel))
            snprintf(m.parent, sizeof(m.parent), "%s", prel);
        free(parent);
    }
    char below[PATH_MAX] = "";
    for (size_t i = 0; r == 0 && i < 3; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            r = -errno;
            snprintf(u->why, DISK_S3_WHY_SIZE, "cannot open the snapshot's '%s'", files[i]);
            break;
        }
        struct snap_file *f = &m.files[m.n_files++];
        snprintf(f->name, sizeof(f->name), "%s", files[i]);
        /* the backing is read from the same open file as the chunks: a flatten renaming a new
         * disk.qcow2 over it meanwhile cannot mix the two */
        if (strcmp(files[i], "disk.qcow2") == 0)
            r = backing_of(u, fd, &m, below);
        if (r == 0)
            r = upload_file(u, fd, f);
        close(fd);
    }
    if (r == 0 && below[0])
        r = upload_layer(u, below, 1);
    if (r == 0)
        r = put_manifest(u, &m, key, SNAP_KEY_SIZE); /* last: the snapshot is durable now */
    snap_manifest_release(&m);
    return r;
}

int snap_upload_snapshot(const struct disk_s3 *s, const struct snap_paths *p, const char *dir,
                         struct snap_xfer_ctl *x, struct snap_xfer_stats *st,
                         char key[SNAP_KEY_SIZE], char why[DISK_S3_WHY_SIZE])
{
    memset(st, 0, sizeof(*st));
    snprintf(why, DISK_S3_WHY_SIZE, "internal error");
    struct up u = { .s = s, .p = p, .x = x, .st = st, .why = why,
                    .buf = malloc(SNAP_CHUNK_SIZE) };
    if (!u.buf)
        return -ENOMEM;
    int r = upload_dir(&u, dir, key);
    free(u.buf);
    if (r == 0)
        why[0] = '\0';
    return r;
}
