/* SPDX-License-Identifier: MIT */
/* serve_snapshots.c: the snapshot store's start-up (serve_snapshots.h). The secret key lives
 * in a file of its own (snapshot_s3_secret_key_file) so hearthd.conf can stay readable; it is
 * read once, kept in the control layer's copy only, and never logged. */
#include "daemon/cmd/serve_snapshots.h"

#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/snapstore.h"
#include "daemon/log.h"

/* The secret in path (one line; a trailing newline is dropped) into out. 0, -errno, -EINVAL
 * (empty, more than one line, or too long). */
static int read_secret(const char *path, char *out, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    ssize_t got = read(fd, out, size);
    int r = got < 0 ? -errno : (size_t)got >= size ? -EINVAL : 0;
    close(fd);
    if (r == 0) {
        size_t n = (size_t)got;
        out[n] = '\0';
        while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
            n--;
        out[n] = '\0';
        if (n == 0 || strcspn(out, "\r\n") != n || strlen(out) != n)
            r = -EINVAL;
    }
    if (r < 0)
        explicit_bzero(out, size);
    return r;
}

int serve_snapshots_start(const struct hd_config *cfg, struct ctl *c)
{
    if (!cfg->snapshot_store_s3) {
        log_info(NULL, "snapshot store: local (snapshot_store = local)", NULL);
        return 0;
    }
    char err[200];
    if (config_check_snapshot_store(cfg, err, sizeof(err)) < 0) {
        log_error(NULL, "cannot start the snapshot store", "{s:s}", "err", err);
        return -EINVAL;
    }
    static struct ctl_snapstore_cfg sc; /* large (keys); copied by ctl_snapstore_start */
    memset(&sc, 0, sizeof(sc));
    struct snap_remote *r = &sc.remote;
    snprintf(r->endpoint, sizeof(r->endpoint), "%s", cfg->snapshot_s3_endpoint);
    snprintf(r->bucket, sizeof(r->bucket), "%s", cfg->snapshot_s3_bucket);
    snprintf(r->region, sizeof(r->region), "%s", cfg->snapshot_s3_region);
    snprintf(r->access_key, sizeof(r->access_key), "%s", cfg->snapshot_s3_access_key);
    r->path_style = cfg->snapshot_s3_path_style;
    struct stat sb;
    int rc = read_secret(cfg->snapshot_s3_secret_key_file, r->secret_key, sizeof(r->secret_key));
    if (rc < 0) {
        log_error(NULL, "cannot read snapshot_s3_secret_key_file", "{s:s,s:s}", "file",
                  cfg->snapshot_s3_secret_key_file, "err",
                  rc == -EINVAL ? "empty or longer than 255 bytes" : strerror(-rc));
        return rc;
    }
    if (stat(cfg->snapshot_s3_secret_key_file, &sb) == 0 && (sb.st_mode & 077))
        log_warn(NULL, "snapshot_s3_secret_key_file is readable by others; chmod 600 it",
                 "{s:s}", "file", cfg->snapshot_s3_secret_key_file);
    sc.cache_bytes = (uint64_t)cfg->snapshot_cache_mib << 20;
    sc.concurrency = cfg->snapshot_upload_concurrency;
    rc = ctl_snapstore_start(c, &sc);
    explicit_bzero(r->secret_key, sizeof(r->secret_key));
    if (rc < 0) {
        log_error(NULL, "cannot start the snapshot store", "{s:s}", "err", strerror(-rc));
        return rc;
    }
    log_info(NULL, "snapshot store: s3", "{s:s,s:s,s:I}", "endpoint", r->endpoint, "bucket",
             r->bucket, "cache_mib", (json_int_t)cfg->snapshot_cache_mib);
    return 0;
}
