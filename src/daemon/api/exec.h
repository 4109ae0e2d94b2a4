/* SPDX-License-Identifier: MIT */
/* exec.h: POST /v1/sandboxes/{id}/exec[?stream=true] (spec/API.md §3.4): one command in a
 * running sandbox through the agent (host.h), answered buffered (JSend with 16 MiB per stream)
 * or as NDJSON frames with heartbeats. The client going away kills the command. */
#pragma once

struct api_call;

void api_sandbox_exec(struct api_call *call);
