/* SPDX-License-Identifier: MIT */
/* state.c: sandbox lifecycle state names, terminal states and the §2.14.2 transition graph, all
 * from one table. */
#include "daemon/store/state.h"

#include <errno.h>
#include <string.h>

#define B(s) STORE_STATE_BIT(STORE_##s)

static const struct {
    const char *name;
    bool terminal;
    unsigned next; /* states reachable in one step */
} states[STORE_STATE__COUNT] = {
    [STORE_CREATING] = { "creating", false, B(RUNNING) | B(FAILED) | B(DESTROYING) },
    [STORE_RUNNING] = { "running", false, B(PAUSING) | B(FAILED) | B(DESTROYING) },
    [STORE_PAUSING] = { "pausing", false, B(PAUSED) | B(RUNNING) | B(DESTROYING) },
    [STORE_PAUSED] = { "paused", false, B(RESUMING) | B(DESTROYED) },
    [STORE_RESUMING] = { "resuming", false, B(RUNNING) | B(ERROR) | B(PAUSED) | B(DESTROYING) },
    [STORE_FORKING] = { "forking", false, B(PAUSED) | B(RESUMING) | B(FAILED) | B(DESTROYING) },
    [STORE_ERROR] = { "error", false, B(RESUMING) | B(DESTROYED) },
    [STORE_DESTROYING] = { "destroying", false, B(DESTROYED) },
    [STORE_DESTROYED] = { "destroyed", true, 0 },
    [STORE_FAILED] = { "failed", true, B(DESTROYED) },
};

static bool in_range(enum store_state s)
{
    return (int)s >= 0 && s < STORE_STATE__COUNT;
}

const char *store_state_to_string(enum store_state s)
{
    return in_range(s) ? states[s].name : NULL;
}

int store_state_from_string(const char *s, size_t len, enum store_state *ret)
{
    if (!s)
        return -EINVAL;
    for (int i = 0; i < STORE_STATE__COUNT; i++) {
        if (strlen(states[i].name) == len && memcmp(states[i].name, s, len) == 0) {
            *ret = (enum store_state)i;
            return 0;
        }
    }
    return -EINVAL;
}

bool store_state_is_terminal(enum store_state s)
{
    return in_range(s) && states[s].terminal;
}

bool store_state_transition_allowed(enum store_state from, enum store_state to)
{
    return in_range(from) && in_range(to) && (states[from].next & STORE_STATE_BIT(to));
}
