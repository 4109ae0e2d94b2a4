/* SPDX-License-Identifier: MIT */
/* state.h: the sandbox lifecycle states of docs/api.md §2.14 and their transition graph, driven
 * by one table. The store persists states by their API names. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum store_state {
    STORE_STATE_NONE = -1, /* "no state": an absent intent */
    STORE_CREATING = 0,
    STORE_RUNNING,
    STORE_PAUSING,
    STORE_PAUSED,
    STORE_RESUMING,
    STORE_FORKING,
    STORE_ERROR,
    STORE_DESTROYING,
    STORE_DESTROYED,
    STORE_FAILED,
    STORE_STATE__COUNT,
};

/* A set of states as a bit mask: STORE_STATE_BIT(STORE_RUNNING) | … */
#define STORE_STATE_BIT(s) (1u << (unsigned)(s))
#define STORE_STATES_ALL ((1u << STORE_STATE__COUNT) - 1u)
#define STORE_STATES_TERMINAL (STORE_STATE_BIT(STORE_DESTROYED) | STORE_STATE_BIT(STORE_FAILED))
/* Where PATCH, egress PUT, bandwidth recharge and ssh-pubkeys are accepted (§2.14.3). */
#define STORE_STATES_CONFIGURABLE                                                                \
    (STORE_STATES_ALL & ~(STORE_STATES_TERMINAL | STORE_STATE_BIT(STORE_DESTROYING)))

/* The API name ("running"), or NULL for a value out of range (STORE_STATE_NONE included). */
const char *store_state_to_string(enum store_state s);
/* Parses exactly len bytes (case-sensitive, as the API is). Returns 0 or -EINVAL. */
__attribute__((warn_unused_result))
int store_state_from_string(const char *s, size_t len, enum store_state *ret);
/* destroyed and failed. */
bool store_state_is_terminal(enum store_state s);
/* True when §2.14.2 has an edge from → to. The store itself does not enforce the graph (start-up
 * reconciliation may need to roll back); the lifecycle layer asks here first. */
bool store_state_transition_allowed(enum store_state from, enum store_state to);
