/* SPDX-License-Identifier: MIT */
/* fuzz_oci_ref.c: libFuzzer driver for the OCI reference parser and the registry list of
 * src/daemon/tpl/oci_ref.c. An accepted reference reaches skopeo's argv, so it must hold only
 * the grammar's bytes (no space, control, shell metacharacter, '..' component or scheme), its
 * parts must print back to the same reference, and the allow list must agree with its host.
 * The input also goes through the oci_registries parser, whose hosts must parse as a
 * reference's host. Run: make fuzz FUZZ_TARGETS=oci_ref (docs/testing.md "Fuzzing"). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/tpl/oci.h"
#include "daemon/tpl/oci_ref.h"

static const char ALLOWED[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                              "._-/:@";

static void check_ref(const char *s)
{
    struct tpl_oci_ref r;
    const char *why = NULL;
    if (tpl_oci_ref_parse(s, &r, &why) != 0) {
        if (!why || !why[0])
            abort();
        return;
    }
    if (strspn(s, ALLOWED) != strlen(s) || strstr(s, "://") || strstr(s, "/../") ||
        strstr(s, "//"))
        abort();
    for (const char *p = r.repo; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            abort();
    char again[TPL_OCI_REF_MAX + 8];
    snprintf(again, sizeof(again), "%s/%s%s%s%s%s", r.host, r.repo, r.tag[0] ? ":" : "", r.tag,
             r.digest[0] ? "@" : "", r.digest);
    if (strcmp(again, s) != 0)
        abort();
    struct tpl_oci_config c = { .n_reg = 1 };
    snprintf(c.reg[0].host, sizeof(c.reg[0].host), "%s", r.host);
    size_t i = 9;
    if (!tpl_oci_ref_allowed(&c, s, &i) || i != 0)
        abort();
}

static void check_registries(const char *s)
{
    struct tpl_oci_config *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    const char *why = NULL;
    if (tpl_oci_registries_parse(s, c, &why) == 0) {
        if (c->n_reg > TPL_OCI_MAX_REGISTRIES)
            abort();
        for (size_t i = 0; i < c->n_reg; i++) {
            char ref[300];
            snprintf(ref, sizeof(ref), "%s/x", c->reg[i].host);
            struct tpl_oci_ref r;
            /* a registry host parses as a reference's, unless docker would not call it one
             * (no '.', no ':', not localhost): such an entry can never match, harmless */
            if ((strchr(c->reg[i].host, '.') || strchr(c->reg[i].host, ':') ||
                 strcmp(c->reg[i].host, "localhost") == 0) &&
                tpl_oci_ref_parse(ref, &r, &why) != 0)
                abort();
        }
    } else if (!why || !why[0]) {
        abort();
    }
    free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    check_ref(s);
    check_registries(s);
    free(s);
    return 0;
}
