/* SPDX-License-Identifier: MIT */
/* rules.h: an egress rule list as `hearth sb firewall` edits it (docs/cli.md §7.3): rules typed as
 * separate arguments or separated by commas and spaces, appended without duplicates, removed by
 * value. Matching ignores ASCII case, as the server stores host names lowercased. Pure (no I/O);
 * the rules themselves are checked by the server. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct cli_rules {
    char **v;               /* the rules, owned */
    size_t n, cap;
};

void cli_rules_init(struct cli_rules *r);
void cli_rules_release(struct cli_rules *r);
/* Appends rule (copied) unless an equal one is present. Returns 1 when added, 0 when already
 * present, -EINVAL for an empty rule, -ENOMEM. */
int cli_rules_add(struct cli_rules *r, const char *rule);
/* Splits arg on commas and white space and adds each piece. Returns the number of pieces (0 when
 * arg holds only separators) or -ENOMEM. */
int cli_rules_add_split(struct cli_rules *r, const char *arg);
/* Removes the rule equal to rule. Returns true when one was removed. */
bool cli_rules_remove(struct cli_rules *r, const char *rule);
/* Whether the list allows every destination: empty, or holding "*" (docs/api.md §3.6.2). */
bool cli_rules_allow_all(const struct cli_rules *r);
