/* SPDX-License-Identifier: MIT */
/* files.h: PUT and GET /v1/sandboxes/{id}/files?path=<abs> (spec/API.md §3.5): the request
 * body streamed into the agent with backpressure both ways (≤ 2 GiB), the file streamed back
 * out with Content-Length. Errors are JSend even though the route is binary. */
#pragma once

struct api_call;

void api_sandbox_file_put(struct api_call *call);
void api_sandbox_file_get(struct api_call *call);
