/* SPDX-License-Identifier: MIT */
/* tap.c: tap creation. IFF_TUN_EXCL makes an existing device of the same name an error instead
 * of silently attaching a second opener to it (a live QEMU owns that one). The virtio-net
 * header size is left at the kernel default (10); QEMU sets its own with TUNSETVNETHDRSZ. */
#include "daemon/net/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int tap_open(const char *name, int *ret_fd)
{
    if (!name || !*name || strlen(name) >= IFNAMSIZ)
        return -EINVAL;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, name, strlen(name));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_TUN_EXCL;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int r = -errno;
        close(fd);
        return r == -EBUSY ? -EEXIST : r;
    }
    *ret_fd = fd;
    return 0;
}
