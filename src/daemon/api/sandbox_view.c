/* SPDX-License-Identifier: MIT */
/* sandbox_view.c: SandboxView serialisation (sandbox_view.h). Pure: reads the row and the
 * operator settings, builds jansson objects. */
#include "daemon/api/sandbox_view.h"

#include <ctype.h>
#include <stdio.h>

#include "daemon/api/reply.h"
#include "daemon/ctl/ctl.h"
#include "daemon/store/store.h"

static void set_list(json_t *o, const char *key, const struct store_strv *v)
{
    if (v->n == 0)
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < v->n; i++)
        json_array_append_new(a, json_string(v->v[i]));
    json_object_set_new(o, key, a);
}

json_t *api_sandbox_view(const struct ctl_settings *set, const struct store_sandbox *sb)
{
    const char *status = store_state_to_string(sb->status);
    json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:I,s:I,s:s,s:s,s:s}", "id", sb->id, "name", sb->name,
                          "status", status ? status : "error", "vcpu", (int)sb->vcpu, "mem_mib",
                          (json_int_t)sb->mem_mib, "disk_mib", (json_int_t)sb->disk_mib,
                          "shape", sb->shape, "rootfs", sb->rootfs, "region",
                          sb->region[0] ? sb->region : set->region);
    if (!o)
        return NULL;
    /* §2.1: ip only while an address is held (never while creating or after the end) */
    if (sb->ip[0] && sb->status != STORE_CREATING && !store_state_is_terminal(sb->status))
        json_object_set_new(o, "ip", json_string(sb->ip));
    api_json_set_time(o, "created_at", sb->created_at);
    api_json_set_time(o, "running_at", sb->running_at);
    api_json_set_time(o, "paused_at", sb->paused_at);
    api_json_set_time(o, "last_resumed_at", sb->last_resumed_at);
    if (sb->status == STORE_DESTROYED)
        api_json_set_time(o, "destroyed_at", sb->destroyed_at);
    if (sb->running_at > 0 && sb->spawn_ms >= 0) /* at most three decimals (§1.8) */
        json_object_set_new(o, "spawn_ms",
                            json_real((double)(int64_t)(sb->spawn_ms * 1000.0 + 0.5) / 1000.0));
    json_object_set_new(o, "ingress_enabled", json_boolean(sb->ingress_enabled));
    if (sb->ingress_enabled && set->ingress_domain[0]) {
        char url[512], lower[STORE_ID_SIZE], port[8] = "";
        size_t i;
        for (i = 0; sb->id[i] && i + 1 < sizeof(lower); i++)
            lower[i] = (char)tolower((unsigned char)sb->id[i]);
        lower[i] = '\0';
        if (set->ingress_port) /* a listener off the scheme's default port (docs/ingress-ssh.md) */
            snprintf(port, sizeof(port), ":%u", set->ingress_port);
        snprintf(url, sizeof(url), "%s://<port>-%s.%s%s", set->ingress_scheme, lower,
                 set->ingress_domain, port);
        json_object_set_new(o, "ingress_url_template", json_string(url));
    }
    set_list(o, "egress", &sb->egress);
    set_list(o, "envs", &sb->env_keys);
    set_list(o, "ssh_pubkeys", &sb->ssh_pubkeys);
    json_object_set_new(o, "created_by", json_string(sb->created_by));
    json_object_set_new(o, "bandwidth_ingress_bytes", json_integer(sb->bw_ingress_bytes));
    if (sb->forked_from[0])
        json_object_set_new(o, "forked_from", json_string(sb->forked_from));
    if (sb->auto_pause_after_seconds > 0)
        json_object_set_new(o, "auto_pause_after_seconds",
                            json_integer(sb->auto_pause_after_seconds));
    return o;
}

json_t *api_sandbox_create_view(const struct ctl_settings *set, const struct store_sandbox *sb)
{
    json_t *o = api_sandbox_view(set, sb);
    if (o)
        json_object_set_new(o, "bandwidth_quota_bytes", json_integer(sb->bw_quota_bytes));
    return o;
}
