/* SPDX-License-Identifier: MIT */
/* fuzz_dockerfile.c: libFuzzer driver for the Dockerfile parser and variable substitution
 * (src/daemon/tpl/dockerfile.c, dockerfile_lex.c, tpl_vars.c). The input is a Dockerfile,
 * parsed without and with a build context: a refusal names its line ("line N: …", N the
 * error's line) or the whole file ("Dockerfile …"); what is accepted without a context is
 * accepted with one; an accepted file has a FROM without '$' and at most TPL_MAX_STEPS steps,
 * and every value it holds goes through tpl_expand, which must end (NULL or a string).
 * Run: make fuzz FUZZ_TARGETS=dockerfile (docs/testing.md "Fuzzing"). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/tpl/dockerfile.h"

static void check_error(const struct tpl_error *err)
{
    if (err->line) {
        char want[32];
        int n = snprintf(want, sizeof(want), "line %u: ", err->line);
        if (strncmp(err->msg, want, (size_t)n) != 0 || !err->msg[n])
            abort();
    } else if (strncmp(err->msg, "Dockerfile ", 11) != 0 && strcmp(err->msg, "out of memory"))
        abort();
}

static void expand_all(const struct tpl_dockerfile *df)
{
    struct tpl_vars v = { 0 };
    for (size_t i = 0; i < df->n_steps; i++) {
        const struct tpl_step *st = &df->steps[i];
        if (!st->text || !st->text[0])
            abort();
        if ((st->kind == TPL_COPY || st->kind == TPL_ADD) && st->argc < 2)
            abort();
        for (size_t k = 0; k < st->n_kv; k++) {
            char *x = st->kv[k].value ? tpl_expand(st->kv[k].value, &v) : NULL;
            if (x && (st->kind == TPL_ENV || st->kind == TPL_ARG))
                (void)tpl_vars_set(&v, st->kv[k].key, x);
            free(x);
        }
        for (size_t k = 0; k < st->argc; k++)
            free(tpl_expand(st->argv[k], &v));
    }
    tpl_vars_free(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tpl_dockerfile df;
    struct tpl_error err;
    int r = tpl_dockerfile_parse((const char *)data, size, false, &df, &err);
    if (r == 0) {
        if (!df.from || !df.from[0] || strchr(df.from, '$') || df.n_steps > TPL_MAX_STEPS)
            abort();
        expand_all(&df);
        tpl_dockerfile_free(&df);
    } else if (r == -EINVAL)
        check_error(&err);
    else if (r != -ENOMEM)
        abort();
    int r2 = tpl_dockerfile_parse((const char *)data, size, true, &df, &err);
    if (r == 0 && r2 != 0)
        abort();
    if (r2 == 0) {
        expand_all(&df);
        tpl_dockerfile_free(&df);
    } else if (r2 == -EINVAL)
        check_error(&err);
    return 0;
}
