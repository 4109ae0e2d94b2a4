/* SPDX-License-Identifier: MIT */
/* test_files.c: FILE_PUT and FILE_GET through a forked agent: round trip with parents, mode
 * and a checksum, flow-control credit, failures and atomic replacement. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"

static bool start(struct client *c)
{
    REQUIRE(client_start(c, NULL) == 0);
    struct wire_frame f;
    REQUIRE(client_expect(c, WIRE_READY, 0, &f, 5000) == 1);
    return true;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static bool send_window(struct client *c, uint32_t stream, uint32_t credit)
{
    struct buf b;
    buf_init(&b, 64);
    REQUIRE(wire_append_window(&b, stream, credit) == 0);
    REQUIRE(client_send_raw(c, b.data, b.len) == 0);
    buf_release(&b);
    return true;
}

/* Uploads data honouring the window; returns the DONE size or -1, error name in err. */
static long long put(struct client *c, uint32_t id, const char *req, const uint8_t *data,
                     size_t n, char *err, size_t errsize)
{
    err[0] = 0;
    if (client_send_str(c, WIRE_FILE_PUT, id, req) < 0)
        return -1;
    uint64_t credit = WIRE_INITIAL_WINDOW;
    size_t off = 0;
    struct wire_frame f;
    for (;;) {
        while (off < n || off == 0) {
            size_t chunk = n - off < WIRE_DATA_CHUNK ? n - off : WIRE_DATA_CHUNK;
            if (chunk > credit)
                break;
            bool last = off + chunk == n;
            if (client_send(c, WIRE_DATA, last ? WIRE_F_EOF : 0, id, data + off, chunk) < 0)
                return -1;
            credit -= chunk;
            off += chunk;
            if (last)
                break;
        }
        if (client_recv(c, &f, 10000) != 1)
            return -1;
        if (f.stream != id)
            continue;
        if (f.type == WIRE_WINDOW) {
            uint32_t w;
            if (wire_window_credit(&f, &w) == 0)
                credit += w;
        } else if (f.type == WIRE_DONE) {
            json_t *o = json_loadb((const char *)f.payload, f.len, 0, NULL);
            long long size = (long long)json_integer_value(json_object_get(o, "size"));
            json_decref(o);
            return size;
        } else if (f.type == WIRE_ERROR) {
            client_error_name(&f, err, errsize);
            return -1;
        }
    }
}

/* Downloads into out; returns the FILE_INFO mode or -1, error name in err. */
static int get(struct client *c, uint32_t id, const char *path, struct buf *out, char *err,
               size_t errsize)
{
    char req[512];
    err[0] = 0;
    snprintf(req, sizeof(req), "{\"path\":\"%s\"}", path);
    if (client_send_str(c, WIRE_FILE_GET, id, req) < 0)
        return -1;
    int mode = -1;
    long long size = -1;
    bool eof = false;
    struct wire_frame f;
    for (;;) {
        if (client_recv(c, &f, 10000) != 1 || f.stream != id)
            continue;
        if (f.type == WIRE_FILE_INFO) {
            json_t *o = json_loadb((const char *)f.payload, f.len, 0, NULL);
            mode = (int)json_integer_value(json_object_get(o, "mode"));
            size = (long long)json_integer_value(json_object_get(o, "size"));
            json_decref(o);
        } else if (f.type == WIRE_DATA) {
            if (eof || buf_append(out, f.payload, f.len) < 0)
                return -1;
            eof = f.flags & WIRE_F_EOF;
            if (f.len && !send_window(c, id, f.len))
                return -1;
        } else if (f.type == WIRE_DONE) {
            return eof && size == (long long)out->len ? mode : -1;
        } else if (f.type == WIRE_ERROR) {
            client_error_name(&f, err, errsize);
            return -1;
        }
    }
}

TEST(files_round_trip_3mb)
{
    char dir[64], path[128], req[256], err[32];
    snprintf(dir, sizeof(dir), "/tmp/hearth-files-%d", (int)getpid());
    snprintf(path, sizeof(path), "%s/a/b/c/data.bin", dir);
    size_t n = 3u * 1024 * 1024 + 12345;
    uint8_t *data = malloc(n);
    CHECK(data);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        data[i] = (uint8_t)x;
    }
    struct client c;
    CHECK(start(&c));
    snprintf(req, sizeof(req), "{\"path\":\"%s\",\"mode\":384}", path);
    CHECK_EQ(put(&c, 1, req, data, n, err, sizeof(err)), (long long)n);
    struct stat st;
    CHECK_EQ(stat(path, &st), 0);
    CHECK_EQ(st.st_mode & 07777, 0600);
    CHECK_EQ(st.st_size, (long long)n);
    snprintf(req, sizeof(req), "%s/a/b", dir);
    CHECK_EQ(stat(req, &st), 0);
    CHECK_EQ(st.st_mode & 07777, 0755);

    struct buf out;
    buf_init(&out, 64u * 1024 * 1024);
    CHECK_EQ(get(&c, 2, path, &out, err, sizeof(err)), 0600);
    CHECK_EQ(out.len, n);
    CHECK_EQ(fnv1a(out.data, out.len), fnv1a(data, n));
    buf_release(&out);

    /* Empty file, default mode, replacing the old one. */
    snprintf(req, sizeof(req), "{\"path\":\"%s\"}", path);
    CHECK_EQ(put(&c, 3, req, data, 0, err, sizeof(err)), 0);
    CHECK_EQ(stat(path, &st), 0);
    CHECK_EQ(st.st_size, 0);
    CHECK_EQ(st.st_mode & 07777, 0644);
    buf_init(&out, 1024);
    CHECK_EQ(get(&c, 4, path, &out, err, sizeof(err)), 0644);
    CHECK_EQ(out.len, 0);
    buf_release(&out);
    free(data);
    CHECK(client_ping(&c));
    client_stop(&c);
    snprintf(req, sizeof(req), "rm -rf %s", dir);
    CHECK_EQ(system(req), 0);
}

TEST(files_errors)
{
    static const struct {
        uint16_t type;
        const char *req, *err;
    } cases[] = {
        { WIRE_FILE_PUT, "{\"path\":\"relative/x\"}", "EINVAL" },
        { WIRE_FILE_PUT, "{\"path\":\"/tmp/\"}", "EINVAL" },
        { WIRE_FILE_PUT, "{\"path\":7}", "EINVAL" },
        { WIRE_FILE_PUT, "{}", "EINVAL" },
        { WIRE_FILE_PUT, "{\"path\":\"/tmp/x\",\"mode\":\"644\"}", "EINVAL" },
        { WIRE_FILE_PUT, "{\"path\":\"/tmp/x\",\"mode\":99999}", "EINVAL" },
        { WIRE_FILE_PUT, "{\"path\":\"/tmp\"}", "EISDIR" },
        { WIRE_FILE_PUT, "{\"path\":\"/proc/hearth/x\"}", "ENOENT" },
        { WIRE_FILE_PUT, "not json", "EINVAL" },
        { WIRE_FILE_GET, "{\"path\":\"/nonexistent/file\"}", "ENOENT" },
        { WIRE_FILE_GET, "{\"path\":\"/tmp\"}", "EISDIR" },
        { WIRE_FILE_GET, "{\"path\":\"/dev/zero\"}", "EINVAL" },
        { WIRE_FILE_GET, "{\"path\":\"tmp\"}", "EINVAL" },
    };
    struct client c;
    CHECK(start(&c));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t id = (uint32_t)i + 1;
        CHECK_EQ(client_send_str(&c, cases[i].type, id, cases[i].req), 0);
        struct wire_frame f;
        CHECK_EQ(client_expect(&c, WIRE_ERROR, id, &f, 5000), 1);
        char err[32];
        client_error_name(&f, err, sizeof(err));
        if (strcmp(err, cases[i].err) != 0)
            harness_fail(__FILE__, __LINE__, "case %zu %s: want %s got %s", i, cases[i].req,
                         cases[i].err, err);
    }
    CHECK(client_ping(&c));
    client_stop(&c);
}

/* A cancelled upload leaves the old file intact and no temporary behind. */
TEST(files_put_cancel_keeps_old)
{
    char dir[64], path[128], req[256], cmd[200];
    snprintf(dir, sizeof(dir), "/tmp/hearth-files-c-%d", (int)getpid());
    snprintf(path, sizeof(path), "%s/keep.txt", dir);
    struct client c;
    CHECK(start(&c));
    char err[32];
    snprintf(req, sizeof(req), "{\"path\":\"%s\"}", path);
    CHECK_EQ(put(&c, 1, req, (const uint8_t *)"old", 3, err, sizeof(err)), 3);

    CHECK_EQ(client_send_str(&c, WIRE_FILE_PUT, 2, req), 0);
    CHECK_EQ(client_send(&c, WIRE_DATA, 0, 2, "new", 3), 0);
    CHECK_EQ(client_send(&c, WIRE_CANCEL, 0, 2, NULL, 0), 0);
    struct wire_frame f;
    CHECK_EQ(client_expect(&c, WIRE_ERROR, 2, &f, 5000), 1);
    client_error_name(&f, err, sizeof(err));
    CHECK_STR(err, "ECANCELED");

    FILE *fp = fopen(path, "r");
    CHECK(fp);
    char buf[8] = "";
    CHECK_EQ(fread(buf, 1, sizeof(buf), fp), 3);
    fclose(fp);
    CHECK(memcmp(buf, "old", 3) == 0);
    snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) = 1", dir);
    CHECK_EQ(system(cmd), 0);
    CHECK(client_ping(&c));
    client_stop(&c);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
}
