/* SPDX-License-Identifier: MIT */
/* auth_limit.c: failed-credential counting per source address (auth_limit.h). Placeholder
 * until the tokens part lands the real table: nothing is ever limited. */
#include "daemon/ctl/auth_limit.h"

bool ctl_auth_limited(struct ctl *c, const struct sockaddr *peer)
{
    (void)c, (void)peer;
    return false;
}

void ctl_auth_failed(struct ctl *c, const struct sockaddr *peer)
{
    (void)c, (void)peer;
}
