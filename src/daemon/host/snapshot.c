/* SPDX-License-Identifier: MIT */
/* snapshot.c: snapshot directory format: meta.json write and verify, checksums, file moves
 * (snapshot.h). No QEMU here: the callers drive it. */
#include "daemon/host/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/herr.h"
#include "common/mono.h"
#include "daemon/host/ramsum.h"

int snapshot_file_sha256(const char *path, char hex[65], uint64_t *ret_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        close(fd);
        return -ENOMEM;
    }
    uint64_t size = 0;
    char buf[65536];
    int r = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            EVP_DigestUpdate(ctx, buf, (size_t)n);
            size += (uint64_t)n;
        } else if (n == 0 || errno != EINTR) {
            r = n < 0 ? -errno : 0;
            break;
        }
    }
    unsigned char md[32];
    unsigned mdlen = 0;
    if (r == 0 && EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
        r = -EIO;
    EVP_MD_CTX_free(ctx);
    close(fd);
    if (r < 0)
        return r;
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    *ret_size = size;
    return 0;
}

static int path_in(const char *dir, const char *name, char out[PATH_MAX], struct herr *e)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    if (n < 0 || n >= PATH_MAX)
        return herr_set(e, -ENAMETOOLONG, "snapshot dir '%s' is too long", dir);
    return 0;
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

bool snapshot_is_complete(const char *dir)
{
    char meta[PATH_MAX];
    return dir && dir[0] && path_in(dir, "meta.json", meta, NULL) == 0 &&
           access(meta, F_OK) == 0;
}

int snapshot_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

struct mem_sync {
    int fd, err;
};

static void *mem_sync_thread(void *arg)
{
    struct mem_sync *ms = arg;
    ms->err = fsync(ms->fd) < 0 ? -errno : 0;
    return NULL;
}

/* The RAM file: fsynced by a thread while this one checksums it, so the pause pays the longer
 * of the two, not their sum (the disk writes the dirty pages while the CPU hashes). */
static int mem_seal(const char *mem, struct snapshot_meta *m, struct herr *e)
{
    int fd = open(mem, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return herr_set(e, -errno, "snapshot RAM file '%s': %s", mem, strerror(errno));
    int64_t t0 = mono_now_us();
    struct mem_sync ms = { .fd = fd };
    pthread_t t;
    bool threaded = pthread_create(&t, NULL, mem_sync_thread, &ms) == 0;
    int r = ramsum_fd(fd, m->mem_xxh128, &m->mem_data_bytes);
    int64_t t1 = mono_now_us();
    if (threaded)
        (void)pthread_join(t, NULL);
    else
        (void)mem_sync_thread(&ms); /* no thread: one after the other */
    int64_t t2 = mono_now_us();
    close(fd);
    if (r == 0)
        r = ms.err;
    m->mem_sum_ms = (double)(t1 - t0) / 1000.0;
    m->mem_sync_ms = (double)(t2 - t1) / 1000.0; /* what the fsync added after the checksum */
    if (r < 0)
        return herr_set(e, r, "snapshot RAM file '%s': %s", mem, strerror(-r));
    return 0;
}

int snapshot_meta_write(const char *dir, struct snapshot_meta *m, struct herr *e)
{
    char state[PATH_MAX], meta[PATH_MAX], tmp[PATH_MAX], mem[PATH_MAX], disk[PATH_MAX];
    char parent[PATH_MAX];
    int r;
    if ((r = path_in(dir, "state", state, e)) < 0 || (r = path_in(dir, "meta.json", meta, e)) < 0 ||
        (r = path_in(dir, "meta.json.tmp", tmp, e)) < 0 || (r = path_in(dir, "mem", mem, e)) < 0 ||
        (r = path_in(dir, "disk.qcow2", disk, e)) < 0 || (r = path_in(dir, "..", parent, e)) < 0)
        return r;
    if ((r = mem_seal(mem, m, e)) < 0)
        return r;
    /* QEMU flushed the layer at quit; what it left in the page cache goes now */
    if ((r = fsync_path(disk)) < 0 || (r = fsync_path(state)) < 0)
        return herr_set(e, r, "snapshot '%s': fsync of the disk layer or state: %s", dir,
                        strerror(-r));
    r = snapshot_file_sha256(state, m->state_sha256, &m->state_size);
    if (r < 0)
        return herr_set(e, r, "snapshot state '%s': %s", state, strerror(-r));
    if (m->state_size == 0)
        return herr_set(e, -EIO, "QEMU wrote an empty device state to '%s'", state);
    /* mem_*: what the RAM file's durability cost this pause (docs/snapshots.md) */
    json_t *j = json_pack("{s:i,s:s,s:i,s:i,s:s,s:I,s:I,s:s,s:b,s:b,s:s,s:I,s:f,s:f,s:s}", "format",
                          SNAPSHOT_FORMAT, "qemu_version", m->qemu_version, "vcpus",
                          (int)m->vcpus, "memory_mib", (int)m->memory_mib, "kernel", m->kernel,
                          "kernel_size",
                          (json_int_t)m->kernel_size, "state_size", (json_int_t)m->state_size,
                          "state_sha256", m->state_sha256, "agent_aligned", m->agent_aligned,
                          "nic", m->nic, "mem_xxh128", m->mem_xxh128, "mem_data_bytes",
                          (json_int_t)m->mem_data_bytes, "mem_sum_ms", m->mem_sum_ms,
                          "mem_sync_ms", m->mem_sync_ms, "accel", m->accel);
    if (!j)
        return herr_set(e, -ENOMEM, "out of memory");
    r = json_dump_file(j, tmp, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(j);
    if (r < 0 || fsync_path(tmp) < 0 || rename(tmp, meta) < 0)
        return herr_set(e, -EIO, "cannot write '%s'", meta);
    /* the directory's entries (the links, meta.json), then the parent's entry for dir */
    if ((r = snapshot_fsync_dir(dir)) < 0 || (r = snapshot_fsync_dir(parent)) < 0)
        return herr_set(e, r, "snapshot '%s': fsync of the directory: %s", dir, strerror(-r));
    return 0;
}

int snapshot_verify(const char *dir, unsigned vcpus, unsigned memory_mib,
                    const char *kernel_abs, unsigned flags, struct snapshot_meta *ret,
                    struct herr *e)
{
    char meta[PATH_MAX], state[PATH_MAX], mem[PATH_MAX], disk[PATH_MAX];
    int r;
    if ((r = path_in(dir, "meta.json", meta, e)) < 0 || (r = path_in(dir, "state", state, e)) < 0 ||
        (r = path_in(dir, "mem", mem, e)) < 0 || (r = path_in(dir, "disk.qcow2", disk, e)) < 0)
        return r;
    if (access(meta, F_OK) < 0)
        return herr_set(e, -ENOENT, "snapshot '%s' has no meta.json (missing or incomplete)",
                        dir);
    json_error_t je;
    json_t *m = json_load_file(meta, JSON_REJECT_DUPLICATES, &je);
    if (!m)
        return herr_set(e, -EBADMSG, "snapshot '%s': cannot read meta.json: %s", dir, je.text);
    json_int_t format = -1, v = -1, mib = -1, ksize = -1, ssize = -1;
    const char *qv = NULL, *kernel = NULL, *sha = NULL;
    if (json_unpack_ex(m, &je, 0, "{s:I,s:s,s:I,s:I,s:s,s:I,s:I,s:s}", "format", &format,
                       "qemu_version", &qv, "vcpus", &v, "memory_mib", &mib, "kernel", &kernel,
                       "kernel_size", &ksize, "state_size", &ssize, "state_sha256", &sha) < 0) {
        r = herr_set(e, -EBADMSG, "snapshot '%s': bad meta.json: %s", dir, je.text);
        goto out;
    }
    if (format != SNAPSHOT_FORMAT) {
        r = herr_set(e, -EBADMSG, "snapshot '%s' has format %lld; this hearth reads %d", dir,
                     (long long)format, SNAPSHOT_FORMAT);
        goto out;
    }
    if (v != (json_int_t)vcpus || mib != (json_int_t)memory_mib) {
        r = herr_set(e, -ESTALE,
                     "snapshot '%s' was taken with %lld vCPUs and %lld MiB; asked for %u and %u",
                     dir, (long long)v, (long long)mib, vcpus, memory_mib);
        goto out;
    }
    if (strcmp(kernel, kernel_abs) != 0 || file_size(kernel_abs) != ksize) {
        r = herr_set(e, -ESTALE,
                     "snapshot '%s' was taken with kernel '%s' (%lld bytes); this is '%s' "
                     "(%lld bytes)",
                     dir, kernel, (long long)ksize, kernel_abs, (long long)file_size(kernel_abs));
        goto out;
    }
    if (file_size(mem) != (int64_t)memory_mib << 20) {
        r = herr_set(e, -EBADMSG, "snapshot '%s': RAM file is %lld bytes, expected %u MiB", dir,
                     (long long)file_size(mem), memory_mib);
        goto out;
    }
    if (file_size(disk) < 0) {
        r = herr_set(e, -EBADMSG, "snapshot '%s' has no disk.qcow2", dir);
        goto out;
    }
    char hex[65];
    uint64_t size = 0;
    r = snapshot_file_sha256(state, hex, &size);
    if (r < 0) {
        r = herr_set(e, -EBADMSG, "snapshot '%s': state: %s", dir, strerror(-r));
        goto out;
    }
    if ((json_int_t)size != ssize || strcmp(hex, sha) != 0) {
        r = herr_set(e, -EBADMSG,
                     "snapshot '%s': state file fails its checksum (%llu bytes, sha256 %.12s..., "
                     "recorded %lld bytes, %.12s...)",
                     dir, (unsigned long long)size, hex, (long long)ssize, sha);
        goto out;
    }
    /* snapshots made before the RAM checksum have none: they are taken as they are */
    const char *msum = json_string_value(json_object_get(m, "mem_xxh128"));
    char mhex[RAMSUM_HEX] = "";
    uint64_t mdata = 0;
    if (msum && (flags & SNAPSHOT_VERIFY_RAM)) {
        r = ramsum_file(mem, mhex, &mdata);
        if (r < 0) {
            r = herr_set(e, -EBADMSG, "snapshot '%s': RAM file: %s", dir, strerror(-r));
            goto out;
        }
        if (strcmp(mhex, msum) != 0) {
            r = herr_set(e, -EBADMSG,
                         "snapshot '%s': RAM file fails its checksum (torn or damaged: xxh128 "
                         "%.12s..., recorded %.12s...)",
                         dir, mhex, msum);
            goto out;
        }
    }
    *ret = (struct snapshot_meta){ .vcpus = vcpus, .memory_mib = memory_mib,
                                   .kernel_size = ksize, .state_size = size,
                                   .mem_data_bytes = mdata };
    snprintf(ret->mem_xxh128, sizeof(ret->mem_xxh128), "%s", msum ? msum : "");
    snprintf(ret->qemu_version, sizeof(ret->qemu_version), "%s", qv);
    snprintf(ret->kernel, sizeof(ret->kernel), "%s", kernel);
    memcpy(ret->state_sha256, hex, sizeof(hex));
    ret->agent_aligned = json_is_true(json_object_get(m, "agent_aligned"));
    ret->nic = json_is_true(json_object_get(m, "nic"));
    const char *accel = json_string_value(json_object_get(m, "accel"));
    snprintf(ret->accel, sizeof(ret->accel), "%s",
             accel && (!strcmp(accel, "tcg") || !strcmp(accel, "kvm")) ? accel : "");
    r = 0;
out:
    json_decref(m);
    return r;
}

int snapshot_copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        int r = -errno;
        close(in);
        return r;
    }
    ssize_t n;
    do /* until EOF (0) or an error other than EINTR */
        n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
    while (n > 0 || (n < 0 && errno == EINTR));
    int r = n < 0 ? -errno : 0;
    if (r == 0 && fsync(out) < 0)
        r = -errno;
    close(in);
    close(out);
    return r;
}

/* Copies [off, off + len) of in to the same place in out. */
static int copy_range(int in, int out, off_t off, off_t len)
{
    while (len > 0) {
        loff_t io = off, oo = off;
        ssize_t n = copy_file_range(in, &io, out, &oo, (size_t)len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        off += n;
        len -= n;
    }
    return 0;
}

int snapshot_copy_sparse(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0)
        return -errno;
    struct stat st;
    int r = 0, out = -1;
    if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
        r = errno ? -errno : -EINVAL;
        goto out_close;
    }
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0 || ftruncate(out, st.st_size) < 0) {
        r = -errno;
        goto out_close;
    }
    /* a snapshot's RAM file is mostly holes: the guest's untouched pages */
    for (off_t off = 0; off < st.st_size && r == 0;) {
        off_t data = lseek(in, off, SEEK_DATA);
        if (data < 0) {
            r = errno == ENXIO ? 0 : -errno; /* ENXIO: only a hole is left */
            break;
        }
        off_t hole = lseek(in, data, SEEK_HOLE);
        if (hole < 0) {
            r = -errno;
            break;
        }
        r = copy_range(in, out, data, hole - data);
        off = hole;
    }
out_close:
    if (out >= 0)
        close(out);
    if (r < 0 && out >= 0)
        (void)unlink(dst);
    close(in);
    return r;
}

int snapshot_link_or_copy(const char *src, const char *dst)
{
    if (link(src, dst) == 0)
        return 0;
    if (errno != EXDEV && errno != EPERM)
        return -errno;
    return snapshot_copy_file(src, dst);
}

int snapshot_remove(const char *dir)
{
    char p[PATH_MAX];
    if (path_in(dir, "meta.json", p, NULL) < 0)
        return -ENAMETOOLONG;
    if (unlink(p) < 0 && errno != ENOENT)
        return -errno;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    int r = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (path_in(dir, de->d_name, p, NULL) < 0 || (unlink(p) < 0 && errno != ENOENT))
            r = -errno;
    }
    closedir(d);
    if (rmdir(dir) < 0 && errno != ENOENT && r == 0)
        r = -errno;
    return r;
}
