/* SPDX-License-Identifier: MIT */
/* seed.c: fixture tool for tests/compat/run.sh. `seed DB USER N` opens hearthd's store (the daemon
 * may be running: the store handles concurrent access), creates an API key for USER, inserts N
 * sandbox rows owned by USER through the store API in one transaction, and prints the key alone
 * on stdout. Rows are spread over running / paused / destroyed (i % 3), named seed-NNNNN, created
 * one second apart, and hold no address. Nothing here talks to the network. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/store/ids.h"
#include "daemon/store/store.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: seed DB USER N\n");
        return 2;
    }
    char *end;
    long n = strtol(argv[3], &end, 10);
    if (*end || n < 0 || n > 1000000) {
        fprintf(stderr, "seed: bad count %s\n", argv[3]);
        return 2;
    }
    char err[256] = "";
    struct store *st;
    int r = store_open(argv[1], &st, err, sizeof(err));
    if (r) {
        fprintf(stderr, "seed: open %s: %s (%d)\n", argv[1], err, r);
        return 1;
    }
    struct store_key key;
    char secret[APIKEY_LEN + 1];
    int64_t t0 = now_ms();
    r = store_key_create(st, argv[2], "seed", false, t0, &key, secret);
    if (r) {
        fprintf(stderr, "seed: key for %s: %d %s\n", argv[2], r, store_errmsg(st));
        store_close(st);
        return 1;
    }
    struct store_sandbox *rows = calloc((size_t)n + 1, sizeof(*rows));
    if (!rows) {
        store_close(st);
        return 1;
    }
    static const enum store_state states[] = { STORE_RUNNING, STORE_PAUSED, STORE_DESTROYED };
    int64_t base = t0 - (int64_t)n * 1000 - 60000;
    for (long i = 0; i < n; i++) {
        struct store_sandbox *sb = &rows[i];
        store_sandbox_init(sb);
        if (ids_new_sandbox(sb->id) != 0) {
            fprintf(stderr, "seed: no random ids\n");
            return 1;
        }
        snprintf(sb->user_id, sizeof(sb->user_id), "%s", argv[2]);
        snprintf(sb->name, sizeof(sb->name), "seed-%05ld", i);
        sb->status = states[i % 3];
        snprintf(sb->shape, sizeof(sb->shape), "s-1vcpu-1gb");
        sb->vcpu = 1;
        sb->mem_mib = 1024;
        sb->disk_mib = 10240;
        snprintf(sb->rootfs, sizeof(sb->rootfs), "devbox:1");
        snprintf(sb->region, sizeof(sb->region), "local");
        sb->created_at = base + i * 1000;
        sb->running_at = sb->created_at + 900;
        sb->spawn_ms = 900.125;
        if (sb->status == STORE_PAUSED)
            sb->paused_at = sb->created_at + 5000;
        if (sb->status == STORE_DESTROYED)
            sb->destroyed_at = sb->created_at + 6000;
        snprintf(sb->created_by, sizeof(sb->created_by), "%s", key.id);
        sb->bw_quota_bytes = 5368709120;
    }
    r = store_sandbox_insert_many(st, rows, (size_t)n);
    store_sandbox_array_free(rows, (size_t)n);
    if (r) {
        fprintf(stderr, "seed: insert %ld rows: %d %s\n", n, r, store_errmsg(st));
        store_close(st);
        return 1;
    }
    store_close(st);
    printf("%s\n", secret);
    return 0;
}
