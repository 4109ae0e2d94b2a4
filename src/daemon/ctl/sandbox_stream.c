/* SPDX-License-Identifier: MIT */
/* sandbox_stream.c: streams into a running sandbox: checks, a command's environment, the
 * active count, start errors (sandbox_stream.h). Holds no stream state of its own beyond a
 * started command's request, which the host borrows until the stream ends. */
#include "daemon/ctl/sandbox_stream.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ctl/ctl.h"
#include "daemon/ctl/idle.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/sandbox_row.h"
#include "daemon/ctl/space.h"
#include "daemon/host/host.h"
#include "daemon/store/store.h"

static const char default_path[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct ctl_exec {
    struct ctl *c;
    char id[STORE_ID_SIZE];
    bool counted;                     /* ctl_idle_stream() opened */
    char **env;                       /* owned, NULL-terminated */
    struct agent_exec_req req;        /* borrowed by the host until the stream's on_end */
};

int ctl_sandbox_stream_check(struct ctl *c, const struct ctl_caller *who, const char *id,
                             struct ctl_error *e)
{
    enum store_state st;
    int r = ctl_row_require(c, who->user_id, id, 0, STORE_STATE_BIT(STORE_RUNNING),
                            "sandbox is not running", &st, e);
    return r > 0 ? 0 : r;
}

/* A host start error: the VM is gone, busy or its agent away (retry), else ours. */
static int start_failed(struct ctl_error *e, int r, const char *what)
{
    if (r == -ENOENT || r == -EBUSY || r == -ENOTCONN)
        return ctl_error_set(e, CTL_E_UNAVAILABLE, NULL, NULL,
                             "the sandbox's vm is not reachable; retry later");
    return ctl_error_internal(e, what, r);
}

int ctl_sandbox_env(struct ctl *c, const char *id, const char *term, const char *const *keys,
                    const char *const *values, size_t n_env, char ***ret)
{
    struct store_env *envs = NULL;
    size_t n = 0;
    int r = store_sandbox_envs_get(c->store, id, &envs, &n);
    if (r < 0)
        return r;
    char **env = calloc(n + n_env + 4, sizeof(*env));
    if (!env) {
        store_envs_free(envs, n);
        return -ENOMEM;
    }
    size_t k = 0;
    if (!(env[k++] = strdup(default_path)) || !(env[k++] = strdup("HOME=/root")))
        r = -ENOMEM;
    if (r == 0 && term && asprintf(&env[k++], "TERM=%s", term) < 0) {
        env[k - 1] = NULL;
        r = -ENOMEM;
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        const char *val = envs[i].value;
        for (size_t j = 0; j < n_env; j++)
            if (strcmp(keys[j], envs[i].key) == 0)
                val = values[j];
        if (asprintf(&env[k++], "%s=%s", envs[i].key, val ? val : "") < 0) {
            env[k - 1] = NULL;
            r = -ENOMEM;
        }
    }
    /* keys the sandbox does not declare (managed processes allow any, §3.11.1) */
    for (size_t j = 0; j < n_env && r == 0; j++) {
        bool declared = false;
        for (size_t i = 0; i < n && !declared; i++)
            declared = strcmp(keys[j], envs[i].key) == 0;
        if (!declared && asprintf(&env[k++], "%s=%s", keys[j], values[j]) < 0) {
            env[k - 1] = NULL;
            r = -ENOMEM;
        }
    }
    store_envs_free(envs, n);
    *ret = env;
    return r;
}

void ctl_sandbox_env_free(char **env)
{
    if (env)
        for (char **p = env; *p; p++)
            free(*p);
    free(env);
}

void ctl_exec_free(struct ctl_exec *x)
{
    if (!x)
        return;
    if (x->counted)
        ctl_idle_stream(x->c, x->id, false);
    ctl_sandbox_env_free(x->env);
    free(x);
}

int ctl_sandbox_exec_start(struct ctl *c, const char *id, const struct ctl_exec_req *req,
                           const struct agent_stream_ops *ops, void *ud, struct ctl_exec **ret,
                           uint32_t *ret_stream, struct ctl_error *e)
{
    if (!c->host)
        return ctl_row_vm_layer(c, e);
    struct ctl_exec *x = calloc(1, sizeof(*x));
    if (!x)
        return ctl_error_internal(e, "exec", -ENOMEM);
    x->c = c;
    snprintf(x->id, sizeof(x->id), "%s", id);
    int r = ctl_sandbox_env(c, id, req->term, req->env_keys, req->env_values, req->n_env,
                            &x->env);
    if (r < 0) {
        ctl_exec_free(x);
        return ctl_error_internal(e, "exec environment", r);
    }
    x->req = (struct agent_exec_req){ .argv = req->argv,
                                      .env = (const char *const *)x->env,
                                      .cwd = req->cwd ? req->cwd : "/root",
                                      .stdin_pipe = req->stdin_data != NULL || req->stdin_push,
                                      .stdin_data = req->stdin_data,
                                      .stdin_len = req->stdin_len,
                                      .timeout_ms = req->timeout_ms,
                                      .pty = req->pty,
                                      .stdin_push = req->pty || req->stdin_push,
                                      .rows = req->rows,
                                      .cols = req->cols };
    /* *ret first: on_end may run inside host_vm_exec() and free the caller's state with x */
    *ret = x;
    r = host_vm_exec(c->host, id, &x->req, ops, ud, ret_stream);
    if (r < 0) {
        *ret = NULL;
        ctl_exec_free(x);
        return start_failed(e, r, "exec");
    }
    /* an open exec keeps the sandbox active (docs/api.md §2.14.8) until its stream ends */
    x->counted = true;
    ctl_idle_stream(c, id, true);
    return 0;
}

int ctl_sandbox_file_put_start(struct ctl *c, const char *id, const char *path, uint32_t mode,
                               const struct agent_stream_ops *ops, void *ud,
                               uint32_t *ret_stream, struct ctl_error *e)
{
    if (!c->host)
        return ctl_row_vm_layer(c, e);
    /* an upload grows the sandbox's disk layer in the data dir */
    int r = ctl_space_check(c, NULL, "upload", 0, e);
    if (r < 0)
        return r;
    r = host_vm_file_put_start(c->host, id, path, mode, ops, ud, ret_stream);
    return r < 0 ? start_failed(e, r, "files") : 0;
}

int ctl_sandbox_file_get_start(struct ctl *c, const char *id, const char *path,
                               const struct agent_stream_ops *ops, void *ud,
                               uint32_t *ret_stream, struct ctl_error *e)
{
    if (!c->host)
        return ctl_row_vm_layer(c, e);
    int r = host_vm_file_get(c->host, id, path, ops, ud, ret_stream);
    return r < 0 ? start_failed(e, r, "files") : 0;
}

int ctl_sandbox_tunnel_open(struct ctl *c, const char *id, uint16_t port,
                            const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream,
                            struct ctl_error *e)
{
    if (!c->host)
        return ctl_row_vm_layer(c, e);
    /* counted first: on_end may run inside host_vm_tcp_open() and call tunnel_closed */
    ctl_idle_stream(c, id, true);
    int r = host_vm_tcp_open(c->host, id, port, ops, ud, ret_stream);
    if (r < 0) {
        ctl_idle_stream(c, id, false);
        return start_failed(e, r, "tunnel");
    }
    return 0;
}

void ctl_sandbox_tunnel_closed(struct ctl *c, const char *id)
{
    ctl_idle_stream(c, id, false);
}
