/* SPDX-License-Identifier: MIT */
/* dockerfile.h: the Dockerfile parser and validator of template builds (docs/api.md §3.10.1,
 * docs/templates.md "Dockerfiles"). Pure: text in, steps out, no I/O. Untrusted input (a
 * libFuzzer target drives it). Base resolution (catalog, aliases, templates, OCI) is the
 * control layer's; this file only reads what FROM names. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define TPL_DOCKERFILE_MAX 65536       /* bytes (rule 1) */
#define TPL_MAX_STEPS 256              /* instructions after FROM */

enum tpl_instr {
    TPL_FROM, TPL_RUN, TPL_ENV, TPL_ARG, TPL_WORKDIR, TPL_USER, TPL_SHELL, TPL_LABEL,
    TPL_COPY, TPL_ADD,
    /* accepted and recorded, not executed at build time */
    TPL_CMD, TPL_ENTRYPOINT, TPL_EXPOSE, TPL_VOLUME, TPL_STOPSIGNAL, TPL_HEALTHCHECK,
    TPL_MAINTAINER,
};
/* "FROM", "RUN", … */
const char *tpl_instr_name(enum tpl_instr k);

struct tpl_kv {
    char *key;
    char *value;                        /* as written, quotes and escapes kept (`"two words"`):
                                           tpl_expand gives the value Docker would use; ARG
                                           without a default: NULL (after FROM it takes the
                                           default of the same ARG before FROM, as in Docker) */
};

struct tpl_step {
    enum tpl_instr kind;
    unsigned line;                      /* 1-based line where the instruction starts */
    char *text;                         /* the instruction as written, continuations joined
                                           as written (as Docker does: no space added), comment
                                           lines inside dropped: what the build log shows
                                           ("RUN apt-get install -y jq") and what the layer key
                                           hashes */
    /* RUN, CMD, ENTRYPOINT, SHELL: json = exec form, argv the array; shell form: argc 1,
     * argv[0] the command line as written (variables are not expanded here: the shell does
     * it). COPY/ADD: argv the sources then the destination (argc >= 2), json or not. EXPOSE,
     * VOLUME, STOPSIGNAL, HEALTHCHECK, MAINTAINER, WORKDIR, USER: argv[0] the rest of the line
     * (argc 1). Values that Docker expands (COPY/ADD argv, WORKDIR, USER, EXPOSE, VOLUME,
     * STOPSIGNAL) are kept as written for tpl_expand; the parser has already refused a COPY/ADD
     * source that leaves the context with the Dockerfile's own ENV/ARG values, but the build
     * must check the expanded source again (tpl_ctx_path_inside). */
    bool json;
    char **argv;
    size_t argc;
    /* ENV, ARG, LABEL: the pairs (ENV k=v k2="v 2" and the legacy ENV k v). */
    struct tpl_kv *kv;
    size_t n_kv;
    char *chown;                        /* COPY/ADD --chown=…, else NULL */
    char *chmod;                        /* COPY/ADD --chmod=…, else NULL */
};

struct tpl_dockerfile {
    char *from;                         /* FROM's image as written ("devbox:1", "node",
                                           "localhost:5000/team/app:1.2"); AS <name> dropped */
    unsigned from_line;
    struct tpl_kv *pre_args;            /* ARGs before FROM (defaults only) */
    size_t n_pre_args;
    struct tpl_step *steps;             /* every instruction after FROM, in order */
    size_t n_steps;
};

struct tpl_error {
    unsigned line;                      /* 0 when not tied to a line (size, encoding) */
    char msg[300];                      /* "line 7: COPY needs a build context", ready to show */
};

/* Parses and validates src (len bytes; need not be NUL-terminated) against docs/api.md
 * §3.10.1: at most TPL_DOCKERFILE_MAX bytes, valid UTF-8 without NUL, one FROM as the first
 * instruction (comments, blank lines, parser directives and ARG before it), no variable in
 * FROM, not FROM scratch, known instructions only (ONBUILD and unknown ones refused), no RUN
 * flags (--mount, --network, …), no heredocs, COPY/ADD only when have_context (then no --from,
 * no URL sources in ADD, no absolute or ".." sources), at least one instruction after FROM is
 * not required. Line continuations (a trailing backslash; `# escape=` directive honoured for `
 * too), comments, shell and JSON forms. 0 and *out (tpl_dockerfile_free) or -EINVAL with *err
 * naming the first violation and its line. */
int tpl_dockerfile_parse(const char *src, size_t len, bool have_context,
                         struct tpl_dockerfile *out, struct tpl_error *err);
void tpl_dockerfile_free(struct tpl_dockerfile *df);

/* Variables in scope while a build runs: ENV and ARG values in order of definition. */
struct tpl_vars {
    struct tpl_kv *v;
    size_t n, cap;
};
/* Sets key (replacing an earlier value). 0 or -ENOMEM. */
int tpl_vars_set(struct tpl_vars *vars, const char *key, const char *value);
/* The value of key, or NULL. */
const char *tpl_vars_get(const struct tpl_vars *vars, const char *key);
void tpl_vars_free(struct tpl_vars *vars);

/* Docker's word processing, as it applies to ENV, ARG, LABEL, WORKDIR, USER, EXPOSE, VOLUME,
 * STOPSIGNAL, COPY and ADD values: expands $VAR, ${VAR}, ${VAR:-word} and ${VAR:+word} with
 * vars (unknown: ""), removes quotes ('…' literal, "…" expanded), and `\x` gives x (so `\$`
 * is a literal `$`). Returns a malloc'd string, or NULL with errno ENOMEM, EINVAL (an
 * unterminated ${ or quote, a modifier other than :- and :+, nesting over 64 deep) or E2BIG
 * (the result would be over 64 KiB). */
char *tpl_expand(const char *in, const struct tpl_vars *vars);
