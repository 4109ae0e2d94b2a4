/* SPDX-License-Identifier: MIT */
/* init.h: the duties of PID 1 before serving the host: make fds 0-2 valid, mount the API
 * filesystems, set the hostname, bring up loopback, set PATH. */
#pragma once

/* Does every init duty it can; failures are reported on the console and skipped. */
void init_system(void);
