/* SPDX-License-Identifier: MIT */
/* pool_spec.c: the warm_pool config value's syntax (pool_spec.h). */
#include "daemon/pool_spec.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool name_ok(const char *s, size_t len, const char *extra)
{
    if (len == 0 || len >= POOL_SPEC_NAME_SIZE)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr(extra, c);
        if (!ok || c == '\0')
            return false;
    }
    return true;
}

/* A decimal from lo to hi, no sign, no leading zero, all of s[0..len). */
static bool number(const char *s, size_t len, uint64_t lo, uint64_t hi, uint64_t *ret)
{
    if (len == 0 || len > 9 || (s[0] == '0' && len > 1))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *ret = v;
    return v >= lo && v <= hi;
}

/* One entry, s[0..len): ROOTFS/SHAPE[/DISK_MIB]=COUNT. */
static int entry(const char *s, size_t len, struct pool_spec *p, char *why, size_t why_len)
{
    int shown = len > 80 ? 80 : (int)len;
    const char *eq = memchr(s, '=', len);
    const char *sl1 = memchr(s, '/', eq ? (size_t)(eq - s) : len);
    if (!eq || !sl1) {
        snprintf(why, why_len, "warm_pool entry \"%.*s\": expected ROOTFS/SHAPE[/DISK_MIB]=COUNT",
                 shown, s);
        return -EINVAL;
    }
    const char *shape = sl1 + 1;
    const char *sl2 = memchr(shape, '/', (size_t)(eq - shape));
    size_t shape_len = (size_t)((sl2 ? sl2 : eq) - shape);
    uint64_t disk = 0, count = 0;
    memset(p, 0, sizeof(*p));
    if (!name_ok(s, (size_t)(sl1 - s), "ABCDEFGHIJKLMNOPQRSTUVWXYZ._:-")) {
        snprintf(why, why_len, "warm_pool entry \"%.*s\": bad rootfs name", shown, s);
        return -EINVAL;
    }
    if (!name_ok(shape, shape_len, "-")) {
        snprintf(why, why_len, "warm_pool entry \"%.*s\": bad shape", shown, s);
        return -EINVAL;
    }
    if (sl2 && !number(sl2 + 1, (size_t)(eq - sl2 - 1), 1, 16777216, &disk)) {
        snprintf(why, why_len,
                 "warm_pool entry \"%.*s\": disk must be an integer from 1 to 16777216 (MiB)",
                 shown, s);
        return -EINVAL;
    }
    if (!number(eq + 1, len - (size_t)(eq + 1 - s), 1, POOL_SPEC_MAX_COUNT, &count)) {
        snprintf(why, why_len, "warm_pool entry \"%.*s\": count must be an integer from 1 to %d",
                 shown, s, POOL_SPEC_MAX_COUNT);
        return -EINVAL;
    }
    memcpy(p->rootfs, s, (size_t)(sl1 - s));
    memcpy(p->shape, shape, shape_len);
    p->disk_mib = disk;
    p->count = (unsigned)count;
    snprintf(p->label, sizeof(p->label), "%.*s", (int)(eq - s), s);
    return 0;
}

int pool_spec_parse(const char *text, struct pool_spec *out, size_t *ret_n, char *why,
                    size_t why_len)
{
    static const char sep[] = " \t,";
    size_t n = 0;
    *ret_n = 0;
    if (strcmp(text, "off") == 0)
        return 0;
    for (const char *s = text + strspn(text, sep); *s; s += strspn(s, sep)) {
        size_t len = strcspn(s, sep);
        if (n == POOL_SPEC_MAX) {
            snprintf(why, why_len, "warm_pool: at most %d pools", POOL_SPEC_MAX);
            return -EINVAL;
        }
        int r = entry(s, len, &out[n], why, why_len);
        if (r < 0)
            return r;
        for (size_t k = 0; k < n; k++)
            if (strcmp(out[k].rootfs, out[n].rootfs) == 0 &&
                strcmp(out[k].shape, out[n].shape) == 0 && out[k].disk_mib == out[n].disk_mib) {
                snprintf(why, why_len, "warm_pool entry \"%s\": named twice", out[n].label);
                return -EINVAL;
            }
        n++;
        s += len;
    }
    *ret_n = n;
    return 0;
}
