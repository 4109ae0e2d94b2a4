/* SPDX-License-Identifier: MIT */
/* inetns.h: the "internet" of the network tests and benchmarks (docs/testing.md): the calling
 * process moves into a network namespace of its own (it plays the host), and a second, named
 * namespace behind it holds the servers, reached through a veth pair (198.51.100.1/30 on the
 * host side, .2 inside) with the given addresses on its lo. Nothing leaves these namespaces. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* system() of a formatted command; its exit status, or -1. */
int inetns_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* unshare(CLONE_NEWNET) with lo up, then the namespace "hearth-<tag>-<pid>" (name, 64 bytes)
 * with the n addresses (dotted quads) on its lo and a default route back. false on failure
 * (whatever was made is removed). */
bool inetns_up(char name[64], const char *tag, const char *const *addrs, size_t n);
/* Runs sh -c cmd inside namespace name in a process group of its own; its pid or -1. */
pid_t inetns_spawn(const char *name, const char *cmd);
/* SIGKILLs the process group of pid (> 0) and reaps it. */
void inetns_kill(pid_t pid);
/* Deletes the namespace (its processes should be gone). "" does nothing. */
void inetns_down(const char *name);
