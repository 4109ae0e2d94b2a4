/* SPDX-License-Identifier: MIT */
/* template_vm_weak.c: weak placeholders of template_vm.h for the builder until the golden
 * snapshot part lands (the real definitions override these at link time; remove this file
 * then): no golden snapshot is made, and build VMs get a tap without routes. */
#include "daemon/ctl/template_vm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "daemon/ctl/netplane.h"

__attribute__((weak)) void ctl_tpl_golden_tag(const char *top_layer_key, const char *start_cmd,
                                              const struct ctl_tpl_ready *ready, char out[65])
{
    char in[8192];
    snprintf(in, sizeof(in), "tpl-golden-1|%s|%s|%d|%u|%s|%u|%u", top_layer_key,
             start_cmd ? start_cmd : "", (int)ready->kind, ready->port,
             ready->arg ? ready->arg : "", ready->delay_ms, ready->timeout_s);
    unsigned char d[32];
    unsigned dl = 0;
    EVP_Digest(in, strlen(in), d, &dl, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

struct weak_done {
    ctl_tpl_vm_done_fn done;
    void *ud;
};

static void on_weak(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct weak_done *w = arg;
    w->done(w->ud, 0, "");
    free(w);
}

__attribute__((weak)) void ctl_tpl_golden_build(struct ctl *c, const struct ctl_tpl_image *t,
                                                unsigned vcpus, unsigned mem_mib,
                                                uint64_t disk_mib, uint32_t cpu_quota_pct,
                                                ctl_tpl_vm_done_fn done, void *ud)
{
    (void)t;
    (void)vcpus;
    (void)mem_mib;
    (void)disk_mib;
    (void)cpu_quota_pct;
    struct weak_done *w = done ? malloc(sizeof(*w)) : NULL;
    if (!w)
        return;
    w->done = done;
    w->ud = ud;
    if (event_base_once(c->base, -1, EV_TIMEOUT, on_weak, w, NULL) < 0)
        free(w);
}

__attribute__((weak)) int ctl_tpl_builder_net(struct ctl *c, const char *vm_id,
                                              struct ctl_net_vm *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->tap_fd = ctl_net_tap_only(c, vm_id);
    return 0;
}

__attribute__((weak)) void ctl_tpl_builder_net_done(struct ctl *c, const char *vm_id)
{
    (void)c;
    (void)vm_id;
}
