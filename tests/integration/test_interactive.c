/* SPDX-License-Identifier: MIT */
/* test_interactive.c: one real microVM from $HEARTH_IMAGES for the interactive streams on the
 * host engine (host.h): a command on a terminal (its size, a resize) and a managed process
 * started, fed, attached to and listed through host_vm_proc_call(), which outlives a
 * reconnect of the host's agent connection. The agent's own tests cover the details. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/herr.h"
#include "common/mono.h"
#include "common/wire.h"
#include "daemon/host/host.h"
#include "harness.h"
#include "vmtest.h"

#define SEC 1000000

/* One request's stream: output bytes, how it ended, its answer. */
struct call {
    bool ended;
    struct agent_end end;
    char json[16384];
    struct buf out;
    uint32_t stream;
};

static int call_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    struct call *x = ud;
    const uint8_t *d = p;
    size_t n = len;
    if (type == WIRE_PROC_GAP)
        return 0;
    if (type == WIRE_PROC_OUTPUT && agent_proc_output_parse(p, len, NULL, NULL, &d, &n) < 0)
        return -EPROTO;
    return buf_append(&x->out, d, n) < 0 ? -ENOMEM : 0;
}

static void call_end(void *ud, const struct agent_end *end)
{
    struct call *x = ud;
    x->ended = true;
    x->end = *end;
    snprintf(x->json, sizeof(x->json), "%s", end->json ? end->json : "");
    x->end.json = NULL;
}

static const struct agent_stream_ops call_ops = { .on_data = call_data, .on_end = call_end };

static bool call_done(void *arg)
{
    return ((struct call *)arg)->ended;
}

static bool call_has(void *arg)
{
    struct call *x = arg;
    return x->ended || (x->out.len && memmem(x->out.data, x->out.len, "two-", 4));
}

static void call_init(struct call *x)
{
    memset(x, 0, sizeof(*x));
    buf_init(&x->out, 1 << 20);
}

/* Starts a request; the caller runs the loop. */
static int call_start(struct vmt *vm, uint16_t type, const char *json, struct call *x)
{
    call_init(x);
    return host_vm_proc_call(vm->h, vm->id, type, json, &call_ops, x, &x->stream);
}

/* A request answered DONE: its record (caller frees), or NULL. */
static json_t *call_ok(struct vmt *vm, uint16_t type, const char *json)
{
    struct call x;
    if (call_start(vm, type, json, &x) < 0 ||
        host_sync_run(vm->s, call_done, &x, mono_now_us() + 60 * SEC) < 0 ||
        x.end.kind != AGENT_END_DONE) {
        harness_fail(__FILE__, __LINE__, "%s %s: %s %s", wire_type_to_string(type), json,
                     x.end.error, x.end.message);
        buf_release(&x.out);
        return NULL;
    }
    buf_release(&x.out);
    return json_loads(x.json, 0, NULL);
}

TEST_SLOW(pty_exec_and_managed_process, 300)
{
    char kernel[PATH_MAX], rootfs[PATH_MAX];
    vmtest_paths(kernel, rootfs);
    struct vmtest_config cfg = vmtest_config(kernel, rootfs);
    struct vmt *vm = vmtest_start(&cfg);
    CHECK(vm);
    struct herr e = { 0 };
    /* a terminal of 33 x 77 */
    const char *argv[] = { "stty", "size", NULL };
    struct agent_exec_req req = { .argv = argv, .pty = true, .rows = 33, .cols = 77 };
    struct agent_exec_result r;
    CHECK_EQ(host_sync_exec(vm->s, vm->id, &req, 4096, mono_now_us() + 60 * SEC, &r, &e), 0);
    CHECK_EQ(r.exit_code, 0);
    CHECK_STR((char *)r.out, "33 77\r\n");
    agent_exec_result_release(&r);
    /* a managed process, fed and attached to */
    json_t *rec = call_ok(vm, WIRE_PROC_START,
                          "{\"id\":\"proc_smoke\",\"argv\":[\"sh\",\"-c\",\"echo one; read x; "
                          "echo two-$x; exec sleep 300\"],\"ring_bytes\":1048576}");
    CHECK(rec);
    CHECK_STR(json_string_value(json_object_get(rec, "state")), "running");
    CHECK_STR(json_string_value(json_object_get(rec, "cwd")), "/root");
    json_decref(rec);
    struct call in;
    CHECK_EQ(call_start(vm, WIRE_PROC_INPUT, "{\"id\":\"proc_smoke\",\"size\":3}", &in), 0);
    CHECK_EQ(host_stream_write(vm->h, vm->id, in.stream, "vm\n", 3), 3);
    CHECK_EQ(host_stream_finish(vm->h, vm->id, in.stream), 0);
    CHECK_EQ(host_sync_run(vm->s, call_done, &in, mono_now_us() + 60 * SEC), 0);
    CHECK_EQ(in.end.kind, AGENT_END_DONE);
    CHECK(strstr(in.json, "\"input_seq\":1") != NULL);
    buf_release(&in.out);
    struct call at;
    CHECK_EQ(call_start(vm, WIRE_PROC_ATTACH, "{\"id\":\"proc_smoke\",\"after\":0}", &at), 0);
    CHECK_EQ(host_sync_run(vm->s, call_has, &at, mono_now_us() + 60 * SEC), 0);
    CHECK(!at.ended);
    CHECK(at.out.len >= 11 && memcmp(at.out.data, "one\ntwo-vm\n", 11) == 0);
    /* the host's connection goes: the attach ends, the process does not */
    CHECK_EQ(host_sync_vm_agent_reconnect(vm->s, vm->id, mono_now_us() + 60 * SEC, &e), 0);
    CHECK(at.ended);
    CHECK_EQ(at.end.kind, AGENT_END_LOST);
    buf_release(&at.out);
    rec = call_ok(vm, WIRE_PROC_LIST, "{}");
    CHECK(rec);
    json_t *p0 = json_array_get(json_object_get(rec, "processes"), 0);
    CHECK_STR(json_string_value(json_object_get(p0, "process_id")), "proc_smoke");
    CHECK(json_is_false(json_object_get(p0, "leader_exited")));
    json_decref(rec);
    /* removed: SIGTERM ends sleep; the answer is the final record */
    rec = call_ok(vm, WIRE_PROC_CTL, "{\"id\":\"proc_smoke\",\"op\":\"remove\",\"grace_ms\":2000}");
    CHECK(rec);
    CHECK(json_is_true(json_object_get(rec, "tree_exited")));
    CHECK_EQ(json_integer_value(json_object_get(rec, "signal")), 15);
    json_decref(rec);
    struct call get;
    CHECK_EQ(call_start(vm, WIRE_PROC_GET, "{\"id\":\"proc_smoke\"}", &get), 0);
    CHECK_EQ(host_sync_run(vm->s, call_done, &get, mono_now_us() + 60 * SEC), 0);
    CHECK_EQ(get.end.kind, AGENT_END_ERROR);
    CHECK_EQ(get.end.err, -ESRCH);
    buf_release(&get.out);
    CHECK_EQ(vmtest_stop(vm, &e), 0);
    vmtest_free(vm);
}
