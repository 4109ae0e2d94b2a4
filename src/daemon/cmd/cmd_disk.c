/* SPDX-License-Identifier: MIT */
/* cmd_disk.c: `hearthd disk-key rotate [--config FILE] [--data-dir DIR]` (docs/disks.md "The
 * key file"): adds a fresh first key to the disk key file, then re-seals every disk row's
 * credentials under it, so the old lines can be removed afterwards. Prints counts and key ids,
 * never a key or a credential. */
#include "daemon/cmd/cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "daemon/disk/seal.h"
#include "daemon/store/store.h"

#include <openssl/crypto.h>

/* Re-seals one disk's blob under the ring's current key. 0, or the seal/store -errno. */
static int reseal(struct store *st, const struct seal_keyring *k, const struct store_disk *d)
{
    uint8_t plain[STORE_SEALED_MAX], out[STORE_SEALED_MAX];
    size_t plen = 0, olen = 0;
    int r = seal_open(k, d->id, d->sealed, d->sealed_len, plain, sizeof(plain), &plen);
    if (r == 0)
        r = seal_seal(k, d->id, plain, plen, out, sizeof(out), &olen);
    OPENSSL_cleanse(plain, sizeof(plain));
    if (r == 0)
        r = store_disk_set_sealed(st, NULL, d->id, out, olen, 0);
    return r;
}

static int rotate(const char *config, const char *data_dir)
{
    struct hd_config cfg;
    if (cmd_config_load(&cfg, config, data_dir, NULL, NULL) < 0)
        return EXIT_USAGE;
    char path[PATH_MAX];
    if (!config_disk_key_file(&cfg, path, sizeof(path))) {
        fprintf(stderr, "hearthd: disk-key: disks are off (disk_key_file = off): nothing to "
                        "rotate\n");
        return EXIT_USAGE;
    }
    struct store *st = NULL;
    if (cmd_store_open(&cfg, &st) < 0)
        return 1;
    /* a first start may not have happened yet: the file is made like serve would make it */
    struct seal_keyring *k = NULL;
    const char *why = "";
    char id[SEAL_KEY_ID_MAX + 1] = "";
    int r = seal_keyring_load(path, true, &k, &why);
    seal_keyring_free(k);
    k = NULL;
    if (r == 0)
        r = seal_keyring_add(path, id, &why);
    if (r == 0)
        r = seal_keyring_load(path, false, &k, &why);
    if (r < 0) {
        fprintf(stderr, "hearthd: disk-key: %s: %s\n", path, why);
        store_close(st);
        return 1;
    }
    printf("added key %s as the first line of %s\n", id, path);
    struct store_disk *all = NULL;
    size_t n = 0, done = 0, failed = 0;
    r = store_disk_list_all(st, &all, &n);
    if (r < 0) {
        fprintf(stderr, "hearthd: disk-key: cannot read the disks: %s\n", strerror(-r));
        failed = 1;
    }
    for (size_t i = 0; i < n; i++) {
        int e = reseal(st, k, &all[i]);
        if (e == 0) {
            done++;
            continue;
        }
        failed++;
        fprintf(stderr, "hearthd: disk-key: disk %s: %s\n", all[i].id,
                e == -ENOKEY    ? "sealed under a key no longer in the key file"
                : e == -EBADMSG ? "its sealed credentials do not open (tampered with?)"
                                : strerror(-e));
    }
    if (all)
        OPENSSL_cleanse(all, n * sizeof(*all));
    free(all);
    seal_keyring_free(k);
    store_close(st);
    printf("re-sealed %zu disk(s) under key %s", done, id);
    if (failed)
        printf("; %zu could not be re-sealed: keep the old key lines", failed);
    printf("\n");
    return failed ? 1 : 0;
}

int cmd_disk_key(int argc, char **argv)
{
    const char *config = NULL, *data_dir = NULL, *verb = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cmd_help_print(stdout, "disk-key rotate");
            return 0;
        }
        const char **dst = strcmp(a, "--config") == 0     ? &config
                           : strcmp(a, "--data-dir") == 0 ? &data_dir
                                                          : NULL;
        if (dst) {
            if (i + 1 >= argc) {
                fprintf(stderr, "hearthd: disk-key: option '%s' needs a value\n", a);
                return EXIT_USAGE;
            }
            *dst = argv[++i];
        } else if (a[0] == '-' || verb) {
            fprintf(stderr, "hearthd: disk-key: unexpected argument '%s'\n", a);
            cmd_help_print(stderr, "disk-key rotate");
            return EXIT_USAGE;
        } else {
            verb = a;
        }
    }
    if (!verb || strcmp(verb, "rotate") != 0) {
        fprintf(stderr, "hearthd: unknown 'disk-key' subcommand '%s'; try 'hearthd disk-key "
                        "rotate'\n", verb ? verb : "");
        return EXIT_USAGE;
    }
    return rotate(config, data_dir);
}
