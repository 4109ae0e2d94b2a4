/* SPDX-License-Identifier: MIT */
/* tap.h: creating a sandbox tap. A tun/tap device is created in the namespace of the thread
 * that opens /dev/net/tun, so the caller enters the hearth namespace first. */
#pragma once

/* Opens /dev/net/tun (O_RDWR|O_CLOEXEC) and attaches a new tap named name with
 * IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, not persistent (gone when the last fd closes). -EEXIST when a
 * device of that name exists. The fd is written to *ret_fd only on success. */
int tap_open(const char *name, int *ret_fd);
