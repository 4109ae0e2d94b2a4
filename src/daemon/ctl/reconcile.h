/* SPDX-License-Identifier: MIT */
/* reconcile.h: start-up reconciliation of the store with the VMs on this machine (DESIGN §6,
 * docs/architecture.md): every unsettled row is adopted, finished or rolled back, then every
 * run dir no row claims is killed and removed. */
#pragma once

struct ctl;

/* Runs on c->base (dispatching it), with c->store, c->host and c->set.host_id, until every
 * adopt and teardown it started has completed; each host operation has its own deadline, so
 * this is bounded. Logs what it does. Returns 0, or
 * -errno when the store could not be read (nothing done). */
__attribute__((warn_unused_result))
int reconcile_run(struct ctl *c);
