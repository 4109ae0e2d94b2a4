/* SPDX-License-Identifier: MIT */
/* crashpt.h: named crash points for the crash-recovery tests (docs/operations.md "Crash
 * points"). Always compiled in, inert unless HEARTH_CRASH_AT names a step: then the process
 * kills itself with SIGKILL when it reaches that step, exactly as a kill -9 would. */
#pragma once

/* Dies by SIGKILL when $HEARTH_CRASH_AT is step or "step:N" and this is the Nth time step is
 * reached (N from 1; plain "step" is the first). Otherwise returns at once: one getenv at the
 * first call, then a string compare only when a step is set. */
void crashpt(const char *step);
