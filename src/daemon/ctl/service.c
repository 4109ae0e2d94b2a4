/* SPDX-License-Identifier: MIT */
/* service.c: stopping and freeing the control layer's background parts (service.h). The
 * only file that knows all of them, so that none of them needs to know the others. */
#include "daemon/ctl/snapstore.h"
#include "daemon/ctl/service.h"

#include "daemon/ctl/auth_limit.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/disk.h"
#include "daemon/ctl/disk_mount.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/golden.h"
#include "daemon/ctl/guest.h"
#include "daemon/ctl/hosts.h"
#include "daemon/ctl/idle.h"
#include "daemon/ctl/jobs.h"
#include "daemon/ctl/netplane.h"
#include "daemon/ctl/pool.h"
#include "daemon/ctl/sandbox_self.h"
#include "daemon/ctl/status_wait.h"
#include "daemon/ctl/sandbox_wake.h"
#include "daemon/ctl/template.h"

void ctl_service_stop(struct ctl *c)
{
    ctl_snapstore_stop(c); /* uploads cancelled (resumed at the next start), fetches joined */
    ctl_pool_stop(c); /* pooled VMs never outlive hearthd */
    ctl_golden_stop(c);
    ctl_templates_stop(c); /* build VMs must not outlive hearthd */
    ctl_disk_mounts_watch_stop(c);
    ctl_net_stop(c);
}

void ctl_service_release(struct ctl *c)
{
    /* the VM layer let go of the VMs and dropped their streams: chores in guests never
     * report now, so they and their owners are freed here */
    guest_jobs_drop_all();
    ctl_disk_mounts_release(c);
    ctl_disks_stop(c); /* its bucket checks' events belong to the loop */
    ctl_golden_release(c);
    ctl_pool_release(c);
    ctl_templates_release(c);
    ctl_idle_release(c);
    ctl_hosts_release(c);
    ctl_jobs_release(c);
    ctl_wake_release(c); /* before the events: it unregisters its settle listener */
    ctl_status_wait_release(c); /* the same */
    ctl_events_release(c);
    ctl_self_release(c);
    ctl_auth_limit_release(c);
}
