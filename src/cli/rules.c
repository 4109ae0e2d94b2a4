/* SPDX-License-Identifier: MIT */
/* rules.c: the egress rule list `hearth sb firewall` builds before it PUTs it. Holds copies of
 * the rules; knows nothing about the API or the rule grammar. */
#include "cli/rules.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/grow.h"

void cli_rules_init(struct cli_rules *r)
{
    memset(r, 0, sizeof(*r));
}

void cli_rules_release(struct cli_rules *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i]);
    free(r->v);
    cli_rules_init(r);
}

static long find(const struct cli_rules *r, const char *rule, size_t len)
{
    for (size_t i = 0; i < r->n; i++)
        if (strlen(r->v[i]) == len && strncasecmp(r->v[i], rule, len) == 0)
            return (long)i;
    return -1;
}

static int add_n(struct cli_rules *r, const char *rule, size_t len)
{
    if (len == 0)
        return -EINVAL;
    if (find(r, rule, len) >= 0)
        return 0;
    char **v = grow_array(r->v, r->n, &r->cap, sizeof(*v), 8);
    if (!v)
        return -ENOMEM;
    r->v = v;
    char *copy = strndup(rule, len);
    if (!copy)
        return -ENOMEM;
    r->v[r->n++] = copy;
    return 1;
}

int cli_rules_add(struct cli_rules *r, const char *rule)
{
    return add_n(r, rule, strlen(rule));
}

int cli_rules_add_split(struct cli_rules *r, const char *arg)
{
    static const char seps[] = ", \t\r\n";
    int pieces = 0;
    for (const char *p = arg; *p;) {
        p += strspn(p, seps);
        size_t len = strcspn(p, seps);
        if (len == 0)
            break;
        if (add_n(r, p, len) == -ENOMEM)
            return -ENOMEM;
        pieces++;
        p += len;
    }
    return pieces;
}

bool cli_rules_remove(struct cli_rules *r, const char *rule)
{
    long i = find(r, rule, strlen(rule));
    if (i < 0)
        return false;
    free(r->v[i]);
    memmove(&r->v[i], &r->v[i + 1], (r->n - (size_t)i - 1) * sizeof(*r->v));
    r->n--;
    return true;
}

bool cli_rules_allow_all(const struct cli_rules *r)
{
    return r->n == 0 || find(r, "*", 1) >= 0;
}
