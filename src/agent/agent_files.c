/* SPDX-License-Identifier: MIT */
/* agent_files.c: file transfers. An upload is written to ".<name>.hearth-XXXXXX" beside the target and
 * renamed over it after EOF, so readers never see half a file and a failed upload leaves the old
 * one intact. Disk I/O is done synchronously on the loop: a regular file does not block long,
 * and each call moves at most one 64 KiB chunk. */
#include "agent/agent_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"

/* Reads "path" (absolute, required) and "mode" (optional, default def) from the request. */
static json_t *parse_req(struct agent *ag, const struct wire_frame *f, const char **ret_path,
                         unsigned *ret_mode)
{
    json_t *root = agent_parse_json(ag, f);
    if (!root)
        return NULL;
    json_t *path = json_object_get(root, "path");
    json_t *mode = json_object_get(root, "mode");
    const char *p = json_string_value(path);
    if (!p || p[0] != '/') {
        agent_send_error(ag, f->stream, EINVAL, "'path' must be an absolute path");
        goto out_free;
    }
    size_t len = strlen(p);
    if (len >= 4096 || p[len - 1] == '/') {
        agent_send_error(ag, f->stream, EINVAL, "'path' must name a file");
        goto out_free;
    }
    if (mode && !json_is_null(mode) &&
        (!json_is_integer(mode) || json_integer_value(mode) < 0 ||
         json_integer_value(mode) > 07777)) {
        agent_send_error(ag, f->stream, EINVAL, "'mode' must be an integer from 0 to 4095");
        goto out_free;
    }
    *ret_path = p;
    *ret_mode = json_is_integer(mode) ? (unsigned)json_integer_value(mode) : 0644;
    return root;
out_free:
    json_decref(root);
    return NULL;
}

/* Creates the missing parents of path (mode 0755). */
static int mkdir_parents(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -ENOMEM;
    int r = 0;
    for (char *c = strchr(p + 1, '/'); c; c = strchr(c + 1, '/')) {
        *c = 0;
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            r = -errno;
            break;
        }
        *c = '/';
    }
    free(p);
    return r;
}

/* ".<name>.hearth-XXXXXX" in the target's directory. */
static char *temp_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = (size_t)(slash - path) + 1;
    size_t len = dirlen + 1 + strlen(slash + 1) + sizeof(".hearth-XXXXXX");
    char *t = malloc(len);
    if (!t)
        return NULL;
    memcpy(t, path, dirlen);
    t[dirlen] = '.';
    memcpy(t + dirlen + 1, slash + 1, strlen(slash + 1));
    memcpy(t + dirlen + 1 + strlen(slash + 1), ".hearth-XXXXXX", sizeof(".hearth-XXXXXX"));
    return t;
}

void files_abort(struct agent *ag, struct stream *s)
{
    struct file_state *fs = &s->file;
    if (fs->fd >= 0)
        close(fs->fd);
    if (fs->tmp)
        (void)unlink(fs->tmp); /* best effort: a leftover temp file is only clutter */
    free(fs->tmp);
    free(fs->path);
    stream_remove(&ag->streams, s);
}

/* Answers ERROR on a file stream and ends it. */
static void files_fail(struct agent *ag, struct stream *s, int err, const char *msg)
{
    agent_send_error(ag, s->id, err, "%s", msg);
    files_abort(ag, s);
}

static void fail_errno(struct agent *ag, struct stream *s, int err, const char *what)
{
    agent_send_error(ag, s->id, err, "cannot %s '%.300s': %s", what, s->file.path,
                     strerror(err));
    files_abort(ag, s);
}

/* Parses a put or get request and adds its stream, fd -1 and the path copied. NULL after
 * answering when the request, the stream or the copy fails (what: the verb of that answer). */
static struct stream *open_file_stream(struct agent *ag, const struct wire_frame *f,
                                       enum stream_kind kind, const char *what,
                                       unsigned *ret_mode)
{
    const char *path;
    json_t *root = parse_req(ag, f, &path, ret_mode);
    if (!root)
        return NULL;
    int r;
    struct stream *s = stream_add(&ag->streams, f->stream, kind, &r);
    if (s) {
        s->file.fd = -1;
        s->file.path = strdup(path);
    } else {
        agent_send_error(ag, f->stream, -r, "cannot open stream %u", f->stream);
    }
    json_decref(root);
    if (s && !s->file.path) {
        fail_errno(ag, s, ENOMEM, what);
        return NULL;
    }
    return s;
}

void files_put_open(struct agent *ag, const struct wire_frame *f)
{
    unsigned mode;
    struct stream *s = open_file_stream(ag, f, STREAM_FILE_PUT, "upload", &mode);
    if (!s)
        return;
    struct file_state *fs = &s->file;
    const char *path = fs->path;
    fs->tmp = temp_name(path);
    if (!fs->tmp) {
        fail_errno(ag, s, ENOMEM, "upload");
        return;
    }
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        fail_errno(ag, s, EISDIR, "replace");
        return;
    }
    int r = mkdir_parents(path);
    if (r < 0) {
        fail_errno(ag, s, -r, "create the parents of");
        return;
    }
    fs->fd = mkostemp(fs->tmp, O_CLOEXEC);
    if (fs->fd < 0) {
        free(fs->tmp);
        fs->tmp = NULL; /* nothing was created */
        fail_errno(ag, s, errno, "create a temporary file for");
        return;
    }
    if (fchmod(fs->fd, mode) < 0)
        fail_errno(ag, s, errno, "set the mode of");
}

static void on_put_data(struct agent *ag, struct stream *s, const struct wire_frame *f)
{
    struct file_state *fs = &s->file;
    if (f->len > s->recv_credit) {
        files_fail(ag, s, EPROTO, "data beyond the flow-control window");
        return;
    }
    size_t done = 0;
    while (done < f->len) {
        ssize_t n = write(fs->fd, f->payload + done, f->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fail_errno(ag, s, errno, "write");
            return;
        }
        done += (size_t)n;
    }
    fs->size += f->len;
    if (!(f->flags & WIRE_F_EOF)) {
        /* Written, so the host may send as much again. */
        if (f->len)
            agent_send_window(ag, s->id, f->len);
        return;
    }
    /* No fsync: the guest's disk is a snapshot layer the host flushes; power-off syncs. */
    if (close(fs->fd) < 0) {
        fs->fd = -1;
        fail_errno(ag, s, errno, "write");
        return;
    }
    fs->fd = -1;
    if (rename(fs->tmp, fs->path) < 0) {
        fail_errno(ag, s, errno, "rename into place");
        return;
    }
    free(fs->tmp);
    fs->tmp = NULL;
    (void)agent_send_json(ag, WIRE_DONE, s->id, json_pack("{s:I}", "size", (json_int_t)fs->size));
    files_abort(ag, s);
}

void files_on_frame(struct agent *ag, struct stream *s, const struct wire_frame *f)
{
    if (f->type == WIRE_CANCEL)
        files_fail(ag, s, ECANCELED, "cancelled by the host");
    else if (f->type == WIRE_DATA && s->kind == STREAM_FILE_PUT)
        on_put_data(ag, s, f);
    else
        files_fail(ag, s, EPROTO, "frame type not valid on a file stream");
}

void files_get_open(struct agent *ag, const struct wire_frame *f)
{
    unsigned mode;
    struct stream *s = open_file_stream(ag, f, STREAM_FILE_GET, "read", &mode);
    if (!s)
        return;
    struct file_state *fs = &s->file;
    fs->fd = open(fs->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fs->fd < 0) {
        fail_errno(ag, s, errno, "open");
        return;
    }
    struct stat st;
    if (fstat(fs->fd, &st) < 0) {
        fail_errno(ag, s, errno, "stat");
        return;
    }
    /* Devices and FIFOs could block the loop or never end. */
    if (!S_ISREG(st.st_mode)) {
        fail_errno(ag, s, S_ISDIR(st.st_mode) ? EISDIR : EINVAL, "read non-regular file");
        return;
    }
    (void)agent_send_json(ag, WIRE_FILE_INFO, s->id,
                          json_pack("{s:I, s:i}", "size", (json_int_t)st.st_size, "mode",
                                    (int)(st.st_mode & 07777)));
}

/* Sends one chunk of a download; at end of file sends DATA+EOF and DONE and ends the stream.
 * Returns false when the stream ended. Without credit nothing is read: end of file cannot be
 * told apart from a zero-length read, so even the empty EOF frame waits for credit. */
static bool get_chunk(struct agent *ag, struct stream *s)
{
    struct file_state *fs = &s->file;
    size_t want = s->send_credit < WIRE_DATA_CHUNK ? (size_t)s->send_credit : WIRE_DATA_CHUNK;
    if (want == 0)
        return true;
    uint8_t *p = buf_reserve(&ag->out, WIRE_HEADER_SIZE + want, NULL);
    if (!p)
        return true;
    ssize_t n = read(fs->fd, p + WIRE_HEADER_SIZE, want);
    if (n < 0 && errno == EINTR)
        return true;
    if (n < 0) {
        fail_errno(ag, s, errno, "read");
        return false;
    }
    wire_header_put(p, WIRE_DATA, n == 0 ? WIRE_F_EOF : 0, s->id, (uint32_t)n);
    buf_commit(&ag->out, WIRE_HEADER_SIZE + (size_t)n);
    s->send_credit -= (uint64_t)n;
    fs->size += (uint64_t)n;
    if (n > 0)
        return true;
    /* Every stream ends with one terminal frame; DONE after the EOF frame says so here too. */
    (void)agent_send_json(ag, WIRE_DONE, s->id, json_pack("{s:I}", "size", (json_int_t)fs->size));
    files_abort(ag, s);
    return false;
}

bool files_pump(struct agent *ag)
{
    bool more = false;
    /* Backwards: a finished download is removed by swapping in the last entry. */
    for (size_t i = ag->streams.n; i-- > 0;) {
        struct stream *s = ag->streams.s[i];
        if (s->kind != STREAM_FILE_GET || !agent_out_room(ag))
            continue;
        if (get_chunk(ag, s) && s->send_credit > 0)
            more = true;
    }
    return more && agent_out_room(ag);
}
