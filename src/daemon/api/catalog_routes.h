/* SPDX-License-Identifier: MIT */
/* catalog_routes.h: the unversioned probes and the read-only catalog routes (docs/api.md
 * §3.1): healthz, readyz, whoami, shapes, rootfs, hosts. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_call;
struct api_ctx;

void api_get_healthz(struct api_call *call);
void api_get_readyz(struct api_call *call);
void api_get_whoami(struct api_call *call);
void api_get_shapes(struct api_call *call);
void api_get_rootfs(struct api_call *call);
void api_get_hosts(struct api_call *call);
