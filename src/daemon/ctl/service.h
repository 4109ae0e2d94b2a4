/* SPDX-License-Identifier: MIT */
/* service.h: the control layer as cmd_serve.c stops and frees it: the background parts
 * (golden pool, network plane, auto-pauser) in the right order. */
#pragma once

struct ctl;

/* At shutdown, before the host goes: golden snapshots being built are abandoned and their VMs
 * killed (host_vm_discard()), then the network plane stops (its kernel objects stay for the
 * VMs that outlive hearthd). */
void ctl_service_stop(struct ctl *c);
/* Frees the golden and auto-pause bookkeeping (at exit, after ctl_service_stop). */
void ctl_service_release(struct ctl *c);
