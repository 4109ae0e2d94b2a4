/* SPDX-License-Identifier: MIT */
/* power.h: POWER requests and the power signals busybox sends to PID 1 (poweroff: SIGUSR2,
 * reboot: SIGTERM, halt: SIGUSR1). Every path ends in a kernel reboot: the guest runs with
 * reboot=t and QEMU with -no-reboot, so that ends QEMU cleanly, while RB_POWER_OFF would only
 * halt the CPU on microvm, which has no ACPI. */
#pragma once

struct agent;
struct wire_frame;

/* Answers DONE and records the request in ag->power; the loop then calls power_shutdown(). */
void power_open(struct agent *ag, const struct wire_frame *f);
/* Stops every process (SIGTERM, grace, SIGKILL), syncs, unmounts or remounts read-only, and
 * reboots. PID 1 only; does not return. The loop has flushed the output queue (power_flush) and
 * ended every stream first. */
__attribute__((noreturn)) void power_shutdown(struct agent *ag);
/* Tries for up to timeout_ms to write the output queue to the host. */
void power_flush(struct agent *ag, int timeout_ms);
