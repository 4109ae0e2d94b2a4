/* SPDX-License-Identifier: MIT */
/* routes.h: every route handler of the API, as router.c's table names them (docs/api.md §3).
 * A handler gets the request (reply.h), parses it into a typed value, calls one operation of
 * the control layer (ctl/) or the store, and answers through reply.h. Handlers that read a
 * body answer from api_read_json()'s callback; those that wait for a VM hold the request. */
#pragma once

struct api_call;

/* catalog_routes.c: probes and the read-only catalog (§3.1) */
void api_get_healthz(struct api_call *call);
void api_get_readyz(struct api_call *call);
void api_get_whoami(struct api_call *call);
void api_get_shapes(struct api_call *call);
void api_get_rootfs(struct api_call *call);
void api_get_hosts(struct api_call *call);
void api_host_drain(struct api_call *call);
void api_host_undrain(struct api_call *call);
void api_get_ssh_gateway(struct api_call *call);

/* sandboxes.c: sandboxes (§3.2), SSH keys (§3.3.5) and resize (§3.3.4: QMP block_resize,
 * then resize2fs in the guest; the new disk_mib is stored only after both succeeded) */
void api_sandbox_create(struct api_call *call);
void api_sandbox_list(struct api_call *call);
void api_sandbox_get(struct api_call *call);
/* GET /v1/sandboxes/{id}: with wait_for the long poll of docs/api.md §5.10 (long_poll.c), else
 * api_sandbox_get. */
void api_sandbox_get_or_wait(struct api_call *call);
void api_sandbox_by_ip(struct api_call *call);
void api_sandbox_patch(struct api_call *call);
void api_sandbox_delete(struct api_call *call);
void api_sandbox_ssh_keys(struct api_call *call);
void api_sandbox_resize(struct api_call *call);

/* snapshots.c: the snapshot-native lifecycle (§3.3.1–§3.3.3) */
void api_sandbox_pause(struct api_call *call);
void api_sandbox_resume(struct api_call *call);
void api_sandbox_fork(struct api_call *call);

/* exec.c: POST …/exec[?stream=true] (§3.4): one command in a running sandbox through the
 * agent, answered buffered (JSend with 16 MiB per stream) or as NDJSON frames with
 * heartbeats; the client going away kills the command */
void api_sandbox_exec(struct api_call *call);

/* files.c: PUT and GET …/files?path=<abs> (§3.5): the body streamed into the agent with
 * backpressure both ways (≤ 2 GiB), the file streamed back with Content-Length; errors are
 * JSend even though the route is binary */
void api_sandbox_file_put(struct api_call *call);
void api_sandbox_file_get(struct api_call *call);
/* shell and tunnel: docs/api.md §3.12 */
void api_sandbox_shell(struct api_call *call);
void api_sandbox_shell_ws(struct api_call *call);
void api_sandbox_tunnel(struct api_call *call);

/* egress.c: the egress allowlist (§3.6) and the bandwidth quota (§3.7) */
void api_sandbox_egress_get(struct api_call *call);
void api_sandbox_egress_put(struct api_call *call);
void api_sandbox_bandwidth_get(struct api_call *call);
void api_sandbox_bandwidth_recharge(struct api_call *call);

/* usage_routes.c: usage metrics (§3.14) from the control layer's sampler (ctl/usage.h) */
void api_sandbox_metrics(struct api_call *call);
void api_user_metrics(struct api_call *call);
void api_user_metrics_timeseries(struct api_call *call);

/* access_token_routes.c: a sandbox's delegated access token (§3.13), the owner's key only */
void api_access_token_create(struct api_call *call);
void api_access_token_get(struct api_call *call);
void api_access_token_rotate(struct api_call *call);
void api_access_token_delete(struct api_call *call);

/* key_routes.c: API keys (§5.1, a hearth extension), admin keys only: list, create, revoke */
void api_key_list(struct api_call *call);
void api_key_create(struct api_call *call);
void api_key_delete(struct api_call *call);

/* openapi.c: GET /v1/openapi.json, docs/openapi.json as built in (§5.5) */
void api_get_openapi(struct api_call *call);
/* the web console (console.c): GET / and GET /console/{file}; with config console = off the
 * router treats both as unknown paths (404) */
void api_get_console_page(struct api_call *call);
void api_get_console_asset(struct api_call *call);
extern const char api_console_csp[];

/* sandbox_disks.c: a sandbox's disk mounts (§3.9.6–§3.9.9): attach live, list, detach */
void api_sandbox_disk_attach(struct api_call *call);
void api_sandbox_disk_list(struct api_call *call);
void api_sandbox_disk_detach(struct api_call *call);

/* networks.c: private networks (§3.8) and a sandbox's memberships */
void api_network_list(struct api_call *call);
void api_network_create(struct api_call *call);
void api_network_get(struct api_call *call);
void api_network_delete(struct api_call *call);
void api_sandbox_network_attach(struct api_call *call);
void api_sandbox_network_detach(struct api_call *call);
/* disks.c: S3 disks (§3.9.1-§3.9.5) */
void api_disk_list(struct api_call *call);
void api_disk_create(struct api_call *call);
void api_disk_get(struct api_call *call);
void api_disk_patch(struct api_call *call);
void api_disk_delete(struct api_call *call);

/* sandbox_logs.c: a sandbox's event log and console log (hearth extensions, §5.6, §5.7) */
void api_sandbox_events(struct api_call *call);
void api_sandbox_logs(struct api_call *call);
/* processes.c: managed processes (§3.11) through the agent (ctl/process.h): start, list,
 * get, delete, wait, input, stdin/close, resize, signal, and connect's NDJSON output stream
 * with replay after a sequence number, heartbeats and backpressure */
void api_process_start(struct api_call *call);
void api_process_list(struct api_call *call);
void api_process_get(struct api_call *call);
void api_process_delete(struct api_call *call);
void api_process_connect(struct api_call *call);
void api_process_input(struct api_call *call);
void api_process_close_stdin(struct api_call *call);
void api_process_resize(struct api_call *call);
void api_process_signal(struct api_call *call);
void api_process_wait(struct api_call *call);

/* templates.c, template_logs.c, template_contexts.c: templates (§3.10) through the control
 * layer (ctl/template.h); the build context upload is a hearth extension (§3.10.7) */
void api_template_list(struct api_call *call);
void api_template_create(struct api_call *call);
void api_template_get(struct api_call *call);
void api_template_delete(struct api_call *call);
void api_template_logs(struct api_call *call);
void api_template_context_upload(struct api_call *call);
