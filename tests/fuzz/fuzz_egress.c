/* SPDX-License-Identifier: MIT */
/* fuzz_egress.c: libFuzzer driver for egress rules on both sides of the store: the API's check
 * (ctl_egress_rule_parse, src/daemon/ctl/sandbox_check.c) and the data plane's grammar
 * (src/daemon/net/egress_rules.c: parse, name matching, static sets). Each input line is a
 * rule and also a DNS name. A rule the API stores must parse in the data plane as the same kind
 * and come back unchanged from the API's check (a stored form is a fixed point); the static
 * sets must hold no duplicate and no block inside another of the same port.
 * Run: make fuzz FUZZ_TARGETS=egress (docs/testing.md "Fuzzing"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ctl/sandbox_check.h"
#include "daemon/net/egress_rules.h"

#define MAX_LINES 64

static uint32_t mask_of(uint8_t prefix)
{
    return prefix ? ~0u << (32 - prefix) : 0;
}

/* What the API stored must mean the same in the data plane. */
static void check_stored(const char *stored)
{
    struct egress_rule r;
    char again[CTL_MAX_EGRESS_RULE + 1];
    const char *why;
    if (egress_parse(stored, &r) != 0 || r.kind == EGRESS_ALL)
        abort();
    if (ctl_egress_rule_parse(stored, strlen(stored), again, &why) != 0 ||
        strcmp(again, stored) != 0)
        abort();
    if (r.kind == EGRESS_NET && (r.prefix > 32 || (r.addr & ~mask_of(r.prefix)) != 0))
        abort();
}

static void check_static(const struct egress_rule *rules, size_t n)
{
    struct egress_net *nets = calloc(n ? n : 1, sizeof(*nets));
    if (!nets)
        return;
    size_t k = egress_static_nets(rules, n, nets);
    if (k > n)
        abort();
    for (size_t i = 0; i < k; i++) {
        if (nets[i].prefix > 32 || (nets[i].addr & ~mask_of(nets[i].prefix)) != 0)
            abort();
        if (i > 0 && nets[i - 1].port != 0 && nets[i].port == 0)
            abort(); /* every-port entries come first */
        for (size_t j = 0; j < k; j++) {
            if (i == j || (nets[j].port != nets[i].port && nets[j].port != 0))
                continue;
            /* i inside j: nftables refuses overlapping intervals of one set */
            if (nets[j].prefix <= nets[i].prefix &&
                (nets[i].addr & mask_of(nets[j].prefix)) == nets[j].addr)
                abort();
        }
    }
    free(nets);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char *stored[MAX_LINES];
    const char *lines[MAX_LINES];
    size_t n_lines = 0, n_stored = 0;
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    for (char *p = text, *nl; n_lines < MAX_LINES && p <= text + size; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(text + size - p));
        if (!nl)
            nl = text + size;
        const char *line = p;
        size_t len = (size_t)(nl - p);
        *nl = '\0';
        lines[n_lines++] = line;
        /* the API sees the JSON string's bytes (NUL included); the data plane a C string */
        const char *why = NULL;
        char norm[CTL_MAX_EGRESS_RULE + 1];
        int r = ctl_egress_rule_parse(line, len, norm, &why);
        if (r < 0 && !why)
            abort();
        if (r == 0)
            check_stored(norm);
        if (n_stored < MAX_LINES && ctl_egress_list_add(stored, &n_stored, line, len, &why) < 0)
            continue;
        struct egress_rule er;
        (void)egress_parse(line, &er);
        (void)egress_name_valid(line);
    }
    /* the stored list, as the data plane loads it */
    struct egress_rule rules[MAX_LINES];
    bool all = false;
    size_t bad = 0;
    int n = egress_parse_list((const char *const *)stored, n_stored, rules, MAX_LINES, &all, &bad);
    if (n < 0)
        abort(); /* every stored rule parses */
    check_static(rules, (size_t)n);
    for (size_t i = 0; i < n_lines; i++) {
        struct egress_match *m = malloc(sizeof(*m));
        if (!m)
            break;
        egress_match_name(rules, (size_t)n, lines[i], m);
        if (m->n_ports > (size_t)n || (m->all_ports && m->n_ports) || (!m->any && m->n_ports))
            abort();
        free(m);
    }
    ctl_egress_allow_all(stored, &n_stored);
    free(text);
    return 0;
}
