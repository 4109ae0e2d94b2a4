/* SPDX-License-Identifier: MIT */
/* logs.c: a sandbox's console log (docs/api.md §5.7; a hearth extension): its bytes written to
 * an fd as they arrive (with follow, until the sandbox stops or the caller's sink gives up), by
 * the plain-text GET that template build logs use too (lib_get_to_fd). The event log (§5.6) is
 * a plain JSON call in api.c. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/jsend_read.h"
#include "lib/lib_internal.h"

/* "/v1/sandboxes/<escaped id>/<what>?<query>" into a new string, or NULL. */
static char *logs_path(const char *id, const char *what, const char *query)
{
    char *e = curl_easy_escape(NULL, id, 0);
    if (!e)
        return NULL;
    char *p = NULL;
    if (asprintf(&p, "/v1/sandboxes/%s/%s%s%s", e, what, *query ? "?" : "", query) < 0)
        p = NULL;
    curl_free(e);
    return p;
}

struct log_sink {
    int fd;
    int err;
};

static bool log_write(void *ud, const char *p, size_t n)
{
    struct log_sink *s = ud;
    while (n > 0) {
        ssize_t w = write(s->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            s->err = errno;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

int lib_get_to_fd(hearth_client *c, const char *path, bool stream, int fd,
                  struct hearth_error *reterr)
{
    struct log_sink s = { .fd = fd };
    struct hreq r = { .method = "GET", .path = path, .upload_fd = -1, .sink = log_write,
                      .sink_ud = &s, .timeout_ms = stream ? 0 : c->timeout_ms,
                      .stream = stream };
    struct hresp resp;
    struct hearth_error local;
    struct hearth_error *e = reterr ? reterr : &local;
    int rc = hreq_perform(c, &r, &resp, e);
    if (rc == HEARTH_OK && (resp.status < 200 || resp.status >= 300))
        rc = jsend_decode_error(resp.status, (const char *)resp.body.data, resp.body.len,
                                resp.request_id, e);
    else if (rc == HEARTH_ERR_ABORTED && s.err)
        rc = err_set(reterr, HEARTH_ERR_IO, 200, "cannot write the log: %s", strerror(s.err));
    hresp_release(&resp);
    return rc;
}

HEARTH_EXPORT int hearth_sandbox_logs(hearth_client *c, const char *id, bool follow,
                                      int64_t tail, int fd, struct hearth_error *reterr)
{
    if (!id || !*id)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "empty sandbox id");
    char q[64] = "";
    int n = 0;
    if (follow)
        n = snprintf(q, sizeof(q), "follow=true");
    if (tail >= 0)
        snprintf(q + n, sizeof(q) - (size_t)n, "%stail=%" PRId64, n ? "&" : "", tail);
    char *path = logs_path(id, "logs", q);
    if (!path)
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    int rc = lib_get_to_fd(c, path, follow, fd, reterr);
    free(path);
    return rc;
}
