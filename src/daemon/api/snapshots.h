/* SPDX-License-Identifier: MIT */
/* snapshots.h: the routes of the snapshot-native lifecycle (docs/api.md §2.14, §3.3.1–§3.3.3):
 * pause, resume, fork. The operations themselves are the control layer's (ctl/sandbox_ops.h;
 * docs/snapshots.md). */
#pragma once

struct api_call;

void api_sandbox_pause(struct api_call *call);
void api_sandbox_resume(struct api_call *call);
void api_sandbox_fork(struct api_call *call);
