/* SPDX-License-Identifier: MIT */
/* sandboxes.h: the sandbox routes of docs/api.md §3.2 on the store: create (validation, then the
 * VM through host.h), list, get, by-ip, PATCH and DELETE. */
#pragma once

#include <stdbool.h>

#include "daemon/store/store.h"

struct api_call;

/* The {id} path segment (index i) in canonical form into out; false (404 answered) when it
 * cannot be a sandbox id. */
bool api_sandbox_path_id(const struct api_call *call, unsigned i, char out[STORE_ID_SIZE]);
/* Reads the caller's sandbox into sb (release it); false when it answered (404, 500). */
bool api_sandbox_load(const struct api_call *call, const char *id, struct store_sandbox *sb);

void api_sandbox_create(struct api_call *call);
void api_sandbox_list(struct api_call *call);
void api_sandbox_get(struct api_call *call);
void api_sandbox_by_ip(struct api_call *call);
void api_sandbox_patch(struct api_call *call);
void api_sandbox_delete(struct api_call *call);
void api_sandbox_ssh_keys(struct api_call *call);
/* POST /v1/sandboxes/{id}/resize (§3.3.4): QMP block_resize, then resize2fs in the guest; the
 * new disk_mib is stored only after both succeeded (a failure answers 500, size unchanged). */
void api_sandbox_resize(struct api_call *call);
