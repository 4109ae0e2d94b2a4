/* SPDX-License-Identifier: MIT */
/* ctl.c: the control layer's context and its typed errors (ctl.h): the one table of error
 * codes with their stable names and errnos, and what the context answers about itself.
 * Knows no HTTP status: the API maps codes to answers. */
#include "daemon/ctl/ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/utf8.h"
#include "daemon/host/host.h"


void ctl_init(struct ctl *c)
{
    memset(c, 0, sizeof(*c));
}

static const struct {
    const char *name;
    int err;
} codes[CTL_CODE__COUNT] = {
    [CTL_OK] = { "ok", 0 },
    [CTL_E_INVALID] = { "invalid", -EINVAL },
    [CTL_E_FORBIDDEN] = { "forbidden", -EPERM },
    [CTL_E_NOT_FOUND] = { "not_found", -ENOENT },
    [CTL_E_INVALID_STATE] = { "invalid_state", -EBUSY },
    [CTL_E_QUOTA] = { "quota_exceeded", -EDQUOT },
    [CTL_E_NAME_TAKEN] = { "name_taken", -EEXIST },
    [CTL_E_UNKNOWN_REF] = { "unknown_reference", -ENOENT },
    [CTL_E_LIMIT_REACHED] = { "limit_reached", -E2BIG },
    [CTL_E_IN_USE] = { "in_use", -EBUSY },
    [CTL_E_UNAVAILABLE] = { "unavailable", -EAGAIN },
    [CTL_E_NO_CAPACITY] = { "no_capacity", -EADDRNOTAVAIL },
    [CTL_E_BOOT_FAILED] = { "boot_failed", -EIO },
    [CTL_E_FAILED] = { "failed", -EIO },
    [CTL_E_INTERNAL] = { "internal", -EIO },
    [CTL_E_NO_SPACE] = { "insufficient_storage", -ENOSPC },
    [CTL_E_SPAWN_FAILED] = { "spawn_failed", -ENOEXEC },
    [CTL_E_EXISTS] = { "already_exists", -EEXIST },
    [CTL_E_NOT_CONFIGURED] = { "not_configured", -ENOPROTOOPT },
    [CTL_E_PROBE_FAILED] = { "probe_failed", -EHOSTUNREACH },
    [CTL_E_BAD_DOCKERFILE] = { "bad_dockerfile", -EINVAL },
    [CTL_E_TEMPLATE_NOT_READY] = { "template_not_ready", -EAGAIN },
    [CTL_E_LAST_ADMIN_KEY] = { "last_admin_key", -EPERM },
};

unsigned ctl_vm_count(const struct ctl *c)
{
    return c->host ? host_vm_count(c->host) : 0;
}

const char *ctl_code_to_string(enum ctl_code code)
{
    return (unsigned)code < CTL_CODE__COUNT ? codes[code].name : "?";
}

int ctl_error_set(struct ctl_error *e, enum ctl_code code, const char *field, const char *state,
                  const char *fmt, ...)
{
    memset(e, 0, sizeof(*e));
    e->code = code;
    snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
    snprintf(e->state, sizeof(e->state), "%s", state ? state : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    /* both go out as JSON text: a value quoted with "%.100s" must not end mid-sequence */
    utf8_cut_partial(e->field);
    utf8_cut_partial(e->msg);
    return (unsigned)code < CTL_CODE__COUNT && codes[code].err ? codes[code].err : -EIO;
}

int ctl_error_internal(struct ctl_error *e, const char *what, int err)
{
    memset(e, 0, sizeof(*e));
    e->code = CTL_E_INTERNAL;
    e->what = what;
    e->err = err < 0 ? err : err > 0 ? -err : -EIO;
    return e->err;
}
