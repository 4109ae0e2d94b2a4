/* SPDX-License-Identifier: MIT */
/* ramsum.c: the RAM file checksum (ramsum.h). Sparse-aware: SEEK_DATA finds the chunks that
 * hold data, so a 1 GiB guest that touched 150 MB costs 150 MB of XXH3 and page-cache reads,
 * not a read of 1 GiB of zeros. The file is mapped, not copied out with pread (measured 3x
 * less CPU), and hashed by two threads, since each chunk's hash is independent of the others
 * (a pause runs while the guest's vCPUs are stopped, so the cores are free). */
#include "daemon/host/ramsum.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#define RAMSUM_CHUNK (1u << 20)
#define RAMSUM_THREADS 2
#define RAMSUM_MAX_CHUNKS (1u << 20) /* a 1 TiB RAM file; larger is not a guest of ours */

struct ramsum_job {
    int fd;
    const unsigned char *base; /* the whole file, mapped read-only */
    uint64_t size, nchunks;
    unsigned k;                 /* this thread hashes the chunks i with i % THREADS == k */
    XXH64_hash_t zero_full;     /* XXH3-64 of a whole chunk of zeros */
    XXH64_hash_t *h;            /* per chunk: its hash (shared, each slot one writer) */
    bool *set;                  /* per chunk: has data that is not all zero */
    uint64_t data;
    int err;
};

static void *ramsum_thread(void *arg)
{
    struct ramsum_job *j = arg;
    uint64_t off = 0;
    while (off < j->size) {
        off_t d = lseek(j->fd, (off_t)off, SEEK_DATA);
        if (d < 0) {
            if (errno != ENXIO) /* ENXIO: only holes from here */
                j->err = -errno;
            break;
        }
        uint64_t idx = (uint64_t)d / RAMSUM_CHUNK, start = idx * RAMSUM_CHUNK;
        off = start + RAMSUM_CHUNK;
        if (idx % RAMSUM_THREADS != j->k)
            continue;
        size_t len = j->size - start < RAMSUM_CHUNK ? (size_t)(j->size - start) : RAMSUM_CHUNK;
        XXH64_hash_t h = XXH3_64bits(j->base + start, len);
        j->data += len;
        if (len == RAMSUM_CHUNK && h == j->zero_full)
            continue;
        if (len != RAMSUM_CHUNK) { /* the last, short chunk: compare with zeros of its size */
            unsigned char *z = calloc(1, len);
            bool zero = z && XXH3_64bits(z, len) == h;
            free(z);
            if (zero)
                continue;
        }
        j->h[idx] = h;
        j->set[idx] = true;
    }
    return NULL;
}

int ramsum_fd(int fd, char hex[RAMSUM_HEX], uint64_t *ret_data_bytes)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    uint64_t size = (uint64_t)st.st_size;
    uint64_t nchunks = (size + RAMSUM_CHUNK - 1) / RAMSUM_CHUNK;
    if (nchunks > RAMSUM_MAX_CHUNKS)
        return -EFBIG;
    unsigned char *zeros = calloc(1, RAMSUM_CHUNK);
    XXH64_hash_t *h = calloc(nchunks ? nchunks : 1, sizeof(*h));
    bool *set = calloc(nchunks ? nchunks : 1, sizeof(*set));
    XXH3_state_t *s = XXH3_createState();
    int r = 0;
    if (!zeros || !h || !set || !s) {
        r = -ENOMEM;
        goto out;
    }
    struct ramsum_job jobs[RAMSUM_THREADS];
    pthread_t t[RAMSUM_THREADS];
    bool started[RAMSUM_THREADS] = { false };
    XXH64_hash_t zero_full = XXH3_64bits(zeros, RAMSUM_CHUNK);
    /* one mapping of the whole file: the page faults map 16 cached pages each (fault-around),
     * where a mapping per chunk with MAP_POPULATE cost twice the CPU (measured) */
    void *base = size ? mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0) : NULL;
    if (base == MAP_FAILED) {
        r = -errno;
        goto out;
    }
    for (unsigned k = 0; k < RAMSUM_THREADS; k++) {
        jobs[k] = (struct ramsum_job){ .fd = fd, .base = base, .size = size, .nchunks = nchunks, .k = k,
                                       .zero_full = zero_full, .h = h, .set = set };
        /* thread 0 is this one; a thread that cannot start leaves its share to this one */
        if (k > 0)
            started[k] = pthread_create(&t[k], NULL, ramsum_thread, &jobs[k]) == 0;
    }
    (void)ramsum_thread(&jobs[0]);
    uint64_t data = jobs[0].data;
    r = jobs[0].err;
    for (unsigned k = 1; k < RAMSUM_THREADS; k++) {
        if (started[k])
            (void)pthread_join(t[k], NULL);
        else
            (void)ramsum_thread(&jobs[k]);
        data += jobs[k].data;
        if (!r)
            r = jobs[k].err;
    }
    if (base)
        (void)munmap(base, size); /* cannot fail on a mapping we made */
    if (r < 0)
        goto out;
    XXH3_128bits_reset(s);
    (void)XXH3_128bits_update(s, &size, sizeof(size));
    for (uint64_t i = 0; i < nchunks; i++)
        if (set[i]) {
            uint64_t rec[2] = { i, h[i] };
            (void)XXH3_128bits_update(s, rec, sizeof(rec));
        }
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(s));
    for (unsigned i = 0; i < sizeof(c.digest); i++)
        snprintf(hex + 2 * i, 3, "%02x", c.digest[i]);
    if (ret_data_bytes)
        *ret_data_bytes = data;
out:
    XXH3_freeState(s);
    free(set);
    free(h);
    free(zeros);
    return r;
}

int ramsum_file(const char *path, char hex[RAMSUM_HEX], uint64_t *ret_data_bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = ramsum_fd(fd, hex, ret_data_bytes);
    close(fd);
    return r;
}
