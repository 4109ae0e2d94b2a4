/* SPDX-License-Identifier: MIT */
/* netns.h: named network namespaces the way `ip netns` keeps them (a bind mount of the
 * namespace on /run/netns/<name>), and entering one on the calling thread. */
#pragma once

#define NETNS_RUN_DIR "/run/netns"

/* Creates /run/netns/<name> unless it already names a live namespace. The calling thread's
 * namespace is unchanged afterwards. Returns 0 or -errno. */
int netns_create(const char *name);
/* Opens the namespace (O_RDONLY|O_CLOEXEC) into *ret_fd; -ENOENT when it does not exist. */
int netns_open(const char *name, int *ret_fd);
/* Opens the calling thread's current namespace. */
int netns_open_current(int *ret_fd);
/* Unmounts and removes /run/netns/<name>; 0 when it does not exist. The namespace itself lives
 * on while anything (a tap fd, a process) still holds it. */
int netns_delete(const char *name);
/* Moves the calling thread into nsfd. Sockets created meanwhile belong to it; sockets created
 * before keep theirs. */
int netns_enter(int nsfd);
