/* SPDX-License-Identifier: MIT */
/* netplane.h: sandbox networking as the API drives it (docs/networking.md): the host's data
 * plane (net/net.h), hearthd's DNS server (net/dns.h), address and subnet allocation from the
 * store, what a VM needs to get its NIC (tap fd, MAC, the guest's network config), and the
 * bandwidth meter that moves the kernel's counters into the store once a second and caps or
 * uncaps sandboxes. Everything runs on the loop thread. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/net/dns.h"
#include "daemon/net/net.h"
#include "daemon/store/store.h"

struct ctl;
struct host_vm_spec;
struct store_sandbox;

#define CTL_NET_MAX_UPSTREAMS 3

struct ctl_net_settings {
    struct net_config net;                              /* strings borrowed for start */
    struct sockaddr_in upstreams[CTL_NET_MAX_UPSTREAMS]; /* DNS resolvers hearthd forwards to */
    size_t n_upstreams;
    int meter_ms;                                       /* bandwidth poll period; default 1000 */
    uint32_t dns_rate_qps, dns_rate_burst;              /* per sandbox (dns_config) */
};

/* Opens the data plane and starts the DNS server and the bandwidth meter. Returns 0, or -errno
 * with a one-line reason in err. */
int ctl_net_start(struct ctl *ctx, const struct ctl_net_settings *s, char *err, size_t len);
/* Stops the DNS server and the meter (a last meter pass is made first) and closes the handle.
 * When no VM of this instance runs any more, it also removes what the instance created in the
 * kernel (namespace with its taps, uplink veth, root-namespace table: net_teardown()); while
 * VMs run (they outlive hearthd by design) everything stays for them and the next start, and
 * the log says so (docs/networking.md "Stopping"). NULL-safe. */
void ctl_net_stop(struct ctl *ctx);

/* DNS counters of sandbox id (NULL: every sandbox's total) since hearthd started; zeros and
 * false without networking or before its first query (docs/networking.md "DNS"). */
bool ctl_net_dns_stats(struct ctl *ctx, const char *id, struct dns_stats *ret);
/* Appends the DNS counters in Prometheus text format (totals, and one series per sandbox
 * with counters); 0 or -ENOMEM. Nothing without networking. */
struct buf;
int ctl_net_dns_render(struct ctl *ctx, struct buf *b);

/* A free primary address for a new sandbox (dotted quad in out), or -EADDRNOTAVAIL. */
int ctl_net_alloc_ip(struct ctl *ctx, char out[STORE_IP_SIZE]);
/* A free /24 for a new network ("10.89.3.0/24"), or -EADDRNOTAVAIL. Changes nothing. */
int ctl_net_alloc_subnet(struct ctl *ctx, char out[STORE_SUBNET_SIZE]);
/* A network was created (its subnet stored) or deleted: its "members reach each other" pair
 * enters or leaves the data plane. ctl_net_reconcile() adds every live one at start-up. */
void ctl_net_subnet_added(struct ctl *ctx, const char *subnet);
void ctl_net_subnet_released(struct ctl *ctx, const char *subnet);
/* Makes sandbox id a member of network_id with a free address of subnet. 0, or the store's
 * errors (-EEXIST already a member, -E2BIG too many networks), -EADDRNOTAVAIL when full. */
int ctl_net_join(struct ctl *ctx, const char *network_id, const char *subnet,
                 const char *sandbox_id);

/* What a VM about to start (boot, restore, fork) gets. */
struct ctl_net_vm {
    int tap_fd;                 /* -1 when none */
    char mac[18];
    char *net_json;             /* the guest's network config (agent protocol "net") */
};
/* Opens sandbox id's tap and applies its data plane from the store (address, memberships,
 * egress, cap), and fills *ret for host_vm_spec. Release with ctl_net_vm_release() once QEMU
 * got the fd (it keeps its own copy). On failure nothing is left behind. */
int ctl_net_vm_prepare(struct ctl *ctx, const char *id, struct ctl_net_vm *ret);
void ctl_net_vm_release(struct ctl_net_vm *v);
/* Puts v's tap, MAC and guest config into spec (borrowed from v until it is released); without
 * networking, a NIC without a link and QEMU's default MAC. */
void ctl_net_vm_spec(const struct ctl_net_vm *v, struct host_vm_spec *spec);
/* A tap for a VM with no sandbox row (a golden snapshot's builder): no address, no routes, no
 * rules. Its fd (caller closes once QEMU has it), or -errno (no networking: use no tap). */
int ctl_net_tap_only(struct ctl *ctx, const char *id);
/* A warm pool's VM (ctl/pool.h), which becomes sandbox id's at a take: as
 * ctl_net_rowless_prepare (an address held in memory, a tap, the default data plane, the net
 * object) so that the guest has its network before it is taken, and hearthd keeps a copy of
 * the tap, as for a paused sandbox, so that ctl_net_vm_prepare(id) at the take wires this same
 * tap from the sandbox's row. The held address into ip ("" without networking). */
int ctl_net_pool_prepare(struct ctl *ctx, const char *id, struct ctl_net_vm *ret,
                         char ip[STORE_IP_SIZE]);
/* The take stored the held address in the sandbox's row: the row holds it from now on. */
void ctl_net_pool_taken(struct ctl *ctx, const char *id);
/* A pooled VM that was never taken stopped: its objects, tap and address go. */
void ctl_net_pool_done(struct ctl *ctx, const char *id);
/* A VM with no sandbox row that needs the network like a sandbox (a template build VM,
 * template_vm.h): a free address held in memory for its life (ctl_net_alloc_ip and joins skip
 * it), a tap, the data plane of a sandbox created without egress rules or networks (the
 * operator's default policy), DNS. Fills *ret like ctl_net_vm_prepare; without networking, a
 * NIC without a link. On failure nothing is left. ctl_net_rowless_done: its VM stopped, its
 * objects go and the address is free again. */
int ctl_net_rowless_prepare(struct ctl *ctx, const char *id, struct ctl_net_vm *ret);
void ctl_net_rowless_done(struct ctl *ctx, const char *id);
/* Sandbox id's VM stopped or is being stopped (paused, destroyed, failed, crashed): its last
 * bytes are counted and its data plane objects removed. Its address stays reserved in the
 * store while the row holds it. With keep_tap (a pause), hearthd keeps the sandbox's tap open
 * so the next VM of the sandbox reuses it: deleting a tap costs the kernel ~30 ms, which a
 * pause would otherwise wait for when QEMU exits. Otherwise the tap goes, off the loop. */
void ctl_net_vm_stopped(struct ctl *ctx, const char *id, bool keep_tap);
/* Re-applies a running sandbox's data plane from the store (egress change, cap, membership);
 * with guest, also sends the guest its new config (NETCFG). Errors are logged. */
void ctl_net_refresh(struct ctl *ctx, const char *id, bool guest);
/* Start-up: re-applies every running sandbox whose tap exists and removes objects of the rest. */
void ctl_net_reconcile(struct ctl *ctx, const char *const *running, size_t n);
/* Folds the kernel's counters into the store now (also done every meter period). */
void ctl_net_meter(struct ctl *ctx);
