/* SPDX-License-Identifier: MIT */
/* test_dockerfile.c: the Dockerfile parser (tpl/dockerfile.h): what it accepts and what each
 * step holds, then a table of hostile Dockerfiles, each with the exact line and message prefix
 * of its refusal, then variable substitution (tpl_expand). */
#include "daemon/tpl/dockerfile.h"
#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool parse_ok(const char *src, bool ctx, struct tpl_dockerfile *df)
{
    struct tpl_error err;
    int r = tpl_dockerfile_parse(src, strlen(src), ctx, df, &err);
    if (r != 0)
        harness_fail(__FILE__, __LINE__, "refused (%d): %s", r, err.msg);
    return r == 0;
}

TEST(dockerfile_good_full)
{
    const char *src =
        "# syntax=docker/dockerfile:1\n"
        "# a comment\n"
        "\n"
        "ARG BASE=devbox:1\n"
        "from devbox:1 AS build\n"
        "ENV A=1 B=\"two words\"\r\n"
        "ENV LEGACY some value\n"
        "ARG V=3\n"
        "RUN apt-get update && \\\n"
        "    # dropped comment\n"
        "\n"
        "    apt-get install -y jq\n"
        "RUN [\"/bin/echo\", \"hi\"]\n"
        "RUN [\"a\", \n"
        "WORKDIR /app\n"
        "USER nobody\n"
        "SHELL [\"/bin/bash\", \"-c\"]\n"
        "LABEL \"com.example.v\"=\"1\" b=2\n"
        "CMD [\"node\", \"server.js\"]\n"
        "ENTRYPOINT /bin/start\n"
        "EXPOSE 8080/tcp\n"
        "VOLUME [\"/data\"]\n"
        "STOPSIGNAL SIGTERM\n"
        "HEALTHCHECK --interval=5s CMD curl -f http://localhost/\n"
        "MAINTAINER someone\n"
        "RUN [\"sh\", \"-c\", \"cat <<EOF\"]\n"
        "RUN echo a\\\\\r\r\n"
        "RUN echo done \\";
    struct tpl_dockerfile df;
    if (!parse_ok(src, false, &df))
        return;
    CHECK_STR(df.from, "devbox:1");
    CHECK_EQ(df.from_line, 5);
    CHECK_EQ(df.n_pre_args, 1);
    CHECK_STR(df.pre_args[0].key, "BASE");
    CHECK_STR(df.pre_args[0].value, "devbox:1");
    CHECK_EQ(df.n_steps, 20);
    struct tpl_step *s = df.steps;
    CHECK_EQ(s[0].kind, TPL_ENV);
    CHECK_EQ(s[0].line, 6);
    CHECK_EQ(s[0].n_kv, 2);
    CHECK_STR(s[0].kv[1].key, "B");
    CHECK_STR(s[0].kv[1].value, "\"two words\"");
    CHECK_STR(s[1].kv[0].key, "LEGACY");
    CHECK_STR(s[1].kv[0].value, "some value");
    CHECK_EQ(s[3].kind, TPL_RUN);
    CHECK_EQ(s[3].line, 9);
    CHECK(!s[3].json);
    CHECK_EQ(s[3].argc, 1);
    CHECK_STR(s[3].argv[0], "apt-get update &&     apt-get install -y jq");
    CHECK_STR(s[3].text, "RUN apt-get update &&     apt-get install -y jq");
    CHECK(s[4].json);
    CHECK_EQ(s[4].argc, 2);
    CHECK_STR(s[4].argv[1], "hi");
    CHECK_EQ(s[4].line, 13);
    /* not JSON: the shell form, as Docker does */
    CHECK(!s[5].json);
    CHECK_STR(s[5].argv[0], "[\"a\",");
    CHECK_EQ(s[6].kind, TPL_WORKDIR);
    CHECK_STR(s[6].argv[0], "/app");
    CHECK_EQ(s[8].kind, TPL_SHELL);
    CHECK_EQ(s[8].argc, 2);
    CHECK_EQ(s[9].kind, TPL_LABEL);
    CHECK_STR(s[9].kv[0].key, "\"com.example.v\"");
    CHECK_EQ(s[15].kind, TPL_HEALTHCHECK);
    CHECK_STR(s[15].argv[0], "--interval=5s CMD curl -f http://localhost/");
    CHECK(s[17].json);                  /* no heredoc in the JSON form */
    CHECK_STR(s[18].argv[0], "echo a\\\\"); /* an escaped escape does not continue */
    CHECK_EQ(s[19].kind, TPL_RUN);
    CHECK_EQ(s[19].line, 28);
    CHECK_STR(s[19].argv[0], "echo done");
    CHECK_STR(tpl_instr_name(TPL_HEALTHCHECK), "HEALTHCHECK");
    tpl_dockerfile_free(&df);
}

TEST(dockerfile_from_only_and_forms)
{
    struct tpl_dockerfile df;
    if (!parse_ok("FROM localhost:5000/team/app:1.2", false, &df))
        return;
    CHECK_STR(df.from, "localhost:5000/team/app:1.2");
    CHECK_EQ(df.n_steps, 0);
    tpl_dockerfile_free(&df);
    /* escape directive: backtick continues lines, backslash is literal */
    if (!parse_ok("# escape=`\nFROM devbox:1\nRUN echo a `\n  b\nWORKDIR C:\\x\n", false, &df))
        return;
    CHECK_STR(df.steps[0].argv[0], "echo a   b");
    CHECK_STR(df.steps[1].argv[0], "C:\\\\x"); /* rewritten for tpl_expand: means C:\x */
    tpl_dockerfile_free(&df);
    /* continuation lines holding only the escape, or a blank and the escape (BuildKit joins
     * them as they are) */
    if (!parse_ok("FROM x\nENV E one\\\n\\\ntwo\nENV F one\\\n \\\ntwo\nENV G a\\\\\n", false,
                  &df))
        return;
    CHECK_STR(df.steps[0].kv[0].value, "onetwo");
    CHECK_STR(df.steps[1].kv[0].value, "one two");
    CHECK_STR(df.steps[2].kv[0].value, "a\\\\");
    CHECK_EQ(df.steps[2].line, 8);
    tpl_dockerfile_free(&df);
    /* a BOM, CRLF everywhere */
    if (!parse_ok("\xef\xbb\xbf" "FROM devbox:1\r\nRUN true\r\n", false, &df))
        return;
    CHECK_EQ(df.n_steps, 1);
    CHECK_STR(df.steps[0].argv[0], "true");
    tpl_dockerfile_free(&df);
}

TEST(dockerfile_copy_with_context)
{
    struct tpl_dockerfile df;
    if (!parse_ok("FROM devbox:1\nARG SRC=app\nCOPY --chown=1000:1000 --chmod=755 ./a b/ /dst/\n"
                  "ADD [\"x y\", \"/z\"]\nCOPY $SRC/. /app\nCOPY ${SRC:-x}/../lib /lib\n",
                  true, &df))
        return;
    CHECK_EQ(df.steps[1].kind, TPL_COPY);
    CHECK_EQ(df.steps[1].argc, 3);
    CHECK_STR(df.steps[1].chown, "1000:1000");
    CHECK_STR(df.steps[1].chmod, "755");
    CHECK_STR(df.steps[1].argv[2], "/dst/");
    CHECK(df.steps[2].json);
    CHECK_STR(df.steps[2].argv[0], "x y");
    tpl_dockerfile_free(&df);
}

static const struct bad {
    const char *src;
    bool ctx;
    unsigned line;
    const char *prefix;
} bad[] = {
    { "", false, 0, "Dockerfile is empty" },
    { "# only\n\n   # comments\n", false, 0, "Dockerfile is empty" },
    { "ARG A=1\n", false, 0, "Dockerfile has no FROM instruction" },
    { "FROM devbox:1\nRUN echo \xff\n", false, 0,
      "Dockerfile is not valid UTF-8 text (an invalid byte on line 2)" },
    { "FROM devbox:1\nRUN \xc0\xaf\n", false, 0, "Dockerfile is not valid UTF-8 text" },
    { "FROM devbox:1\nRUN \xed\xa0\x80\n", false, 0, "Dockerfile is not valid UTF-8 text" },
    { "FROM devbox:1\nFROM devbox:1\n", false, 2, "line 2: a second FROM" },
    { "RUN true\nFROM devbox:1\n", false, 1, "line 1: RUN before FROM" },
    { "# escape=\\\n\n# c\nARG X=1\nENV A=1\nFROM devbox:1\n", false, 5,
      "line 5: ENV before FROM" },
    { "FROM $BASE\n", false, 1, "line 1: FROM may not hold a variable" },
    { "ARG V=1\nFROM devbox:${V}\n", false, 2, "line 2: FROM may not hold a variable" },
    { "FROM scratch\n", false, 1, "line 1: FROM scratch is not supported" },
    { "FROM SCRATCH AS x\n", false, 1, "line 1: FROM scratch is not supported" },
    { "FROM\n", false, 1, "line 1: FROM needs an image" },
    { "FROM a b\n", false, 1, "line 1: FROM takes an image and an optional AS name" },
    { "FROM --platform=linux/arm64 devbox:1\n", false, 1,
      "line 1: FROM --platform is not supported" },
    { "FROM devbox:1\nFETCH x\n", false, 2, "line 2: unknown instruction 'FETCH'" },
    { "FROM devbox:1\nONBUILD RUN x\n", false, 2, "line 2: ONBUILD is not supported" },
    { "FROM devbox:1\nRUN --mount=type=cache,target=/x true\n", false, 2,
      "line 2: RUN --mount is not supported" },
    { "FROM devbox:1\nrun --network=none true\n", false, 2,
      "line 2: RUN --network is not supported" },
    { "FROM devbox:1\nRUN --security=insecure true\n", false, 2,
      "line 2: RUN --security is not supported" },
    { "FROM devbox:1\nRUN <<EOF\necho hi\nEOF\n", false, 2,
      "line 2: heredocs (<<EOF) are not supported" },
    { "FROM devbox:1\nRUN cat 3<<-'END' >x\n", false, 2,
      "line 2: heredocs (<<-'END') are not supported" },
    { "FROM devbox:1\nCOPY <<EOF /x\n", true, 2, "line 2: heredocs" },
    { "FROM devbox:1\nRUN [\"a\", 1]\n", false, 2,
      "line 2: RUN in JSON form takes an array of strings only" },
    { "FROM devbox:1\nCMD [\"a\", {\"b\":1}]\n", false, 2,
      "line 2: CMD in JSON form takes an array of strings only" },
    { "FROM devbox:1\nRUN\n", false, 2, "line 2: RUN needs a command" },
    { "FROM devbox:1\nRUN    \\\n\n", false, 2, "line 2: RUN needs a command" },
    { "FROM devbox:1\nRUN []\n", false, 2, "line 2: RUN needs a command" },
    { "FROM devbox:1\nENV FOO\n", false, 2, "line 2: ENV needs a value" },
    { "FROM devbox:1\nENV\n", false, 2, "line 2: ENV needs a name and a value" },
    { "FROM devbox:1\nENV A=1 B\n", false, 2, "line 2: ENV: 'B' is not name=value" },
    { "FROM devbox:1\nENV =x\n", false, 2, "line 2: ENV: '=x' is not name=value" },
    { "FROM devbox:1\nENV A$=1\n", false, 2, "line 2: ENV: 'A$' is not a valid name" },
    { "FROM devbox:1\nENV A=${B\n", false, 2,
      "line 2: ENV: bad substitution or unterminated quote" },
    { "FROM devbox:1\nENV A=\"open\n", false, 2,
      "line 2: ENV: bad substitution or unterminated quote" },
    { "FROM devbox:1\nLABEL x\n", false, 2, "line 2: LABEL needs a value" },
    { "FROM devbox:1\nARG\n", false, 2, "line 2: ARG needs a name" },
    { "FROM devbox:1\nWORKDIR\n", false, 2, "line 2: WORKDIR needs an argument" },
    { "FROM devbox:1\nWORKDIR ${X:?}\n", false, 2, "line 2: WORKDIR: bad substitution" },
    { "FROM devbox:1\nSHELL /bin/bash -c\n", false, 2, "line 2: SHELL takes the JSON form" },
    { "FROM devbox:1\nSHELL []\n", false, 2, "line 2: SHELL takes the JSON form" },
    { "FROM devbox:1\nCMD --x true\n", false, 2, "line 2: CMD --x is not supported" },
    { "FROM devbox:1\nHEALTHCHECK --bogus=1 CMD true\n", false, 2,
      "line 2: HEALTHCHECK --bogus is not supported" },
    { "FROM devbox:1\nCOPY a /b\n", false, 2,
      "line 2: COPY needs a build context (hearth: POST /v1/template-contexts)" },
    { "FROM devbox:1\nADD a /b\n", false, 2, "line 2: ADD needs a build context" },
    { "FROM devbox:1\nADD http://example.com/x.tgz /x\n", true, 2,
      "line 2: ADD from a URL is not supported" },
    { "FROM devbox:1\nADD git@github.com:a/b.git /x\n", true, 2,
      "line 2: ADD from a URL is not supported" },
    { "FROM devbox:1\nCOPY --from=build /a /b\n", true, 2, "line 2: COPY --from is not supported" },
    { "FROM devbox:1\nCOPY --link a /b\n", true, 2, "line 2: COPY --link is not supported" },
    { "FROM devbox:1\nCOPY --chmod=u+x a /b\n", true, 2,
      "line 2: COPY --chmod takes an octal mode" },
    { "FROM devbox:1\nCOPY --chown=$(id) a /b\n", true, 2,
      "line 2: COPY --chown takes user[:group]" },
    { "FROM devbox:1\nCOPY --chown= a /b\n", true, 2, "line 2: COPY --chown needs a value" },
    { "FROM devbox:1\nCOPY a\n", true, 2, "line 2: COPY needs a source and a destination" },
    { "FROM devbox:1\nCOPY /etc/passwd /x\n", true, 2,
      "line 2: COPY source '/etc/passwd' is outside the build context" },
    { "FROM devbox:1\nCOPY a/../../x /x\n", true, 2, "line 2: COPY source 'a/../../x' is outside" },
    { "FROM devbox:1\nARG D=../..\nRUN x\nCOPY $D/etc /x\n", true, 4,
      "line 4: COPY source '$D/etc' is outside" },
    { "ARG D=../..\nFROM devbox:1\nARG D\nCOPY $D/etc /x\n", true, 4,
      "line 4: COPY source '$D/etc' is outside" },
    { "FROM devbox:1\nCOPY [\"/etc\", \"/x\"]\n", true, 2,
      "line 2: COPY source '/etc' is outside" },
    { "# escape=x\nFROM devbox:1\n", false, 1, "line 1: invalid escape directive 'x'" },
    { "# escape=`\n# escape=\\\nFROM devbox:1\n", false, 2,
      "line 2: only one escape parser directive is allowed" },
};

TEST(dockerfile_hostile)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tpl_dockerfile df;
        struct tpl_error err;
        int r = tpl_dockerfile_parse(bad[i].src, strlen(bad[i].src), bad[i].ctx, &df, &err);
        if (r != -EINVAL) {
            harness_fail(__FILE__, __LINE__, "case %zu accepted (%d): %s", i, r, bad[i].src);
            if (r == 0)
                tpl_dockerfile_free(&df);
            continue;
        }
        if (err.line != bad[i].line ||
            strncmp(err.msg, bad[i].prefix, strlen(bad[i].prefix)) != 0)
            harness_fail(__FILE__, __LINE__, "case %zu: line %u \"%s\", want line %u \"%s…\"", i,
                         err.line, err.msg, bad[i].line, bad[i].prefix);
    }
}

TEST(dockerfile_binary_and_size)
{
    struct tpl_dockerfile df;
    struct tpl_error err;
    static const char nul[] = "FROM devbox:1\nRUN a\0b\n";
    CHECK_EQ(tpl_dockerfile_parse(nul, sizeof(nul) - 1, false, &df, &err), -EINVAL);
    CHECK_STR(err.msg, "Dockerfile is not valid UTF-8 text (a NUL byte on line 2)");
    CHECK_EQ(err.line, 0);
    size_t n = TPL_DOCKERFILE_MAX + 1;
    char *big = malloc(n);
    CHECK(big);
    memset(big, '#', n);
    memcpy(big, "FROM devbox:1\n", 14);
    CHECK_EQ(tpl_dockerfile_parse(big, n, false, &df, &err), -EINVAL);
    CHECK_STR(err.msg, "Dockerfile is over 65536 bytes");
    /* exactly the limit is fine (the rest a comment), and src need not be NUL-terminated */
    int r = tpl_dockerfile_parse(big, n - 1, false, &df, &err);
    free(big);
    CHECK_EQ(r, 0);
    tpl_dockerfile_free(&df);
}

TEST(dockerfile_step_limit)
{
    size_t cap = 16 + (TPL_MAX_STEPS + 1) * 9;
    char *src = malloc(cap);
    CHECK(src);
    size_t o = (size_t)snprintf(src, cap, "FROM x\n");
    for (int i = 0; i < TPL_MAX_STEPS; i++)
        o += (size_t)snprintf(src + o, cap - o, "RUN true\n");
    struct tpl_dockerfile df;
    struct tpl_error err;
    int r = tpl_dockerfile_parse(src, o, false, &df, &err);
    if (r == 0) {
        CHECK_EQ(df.n_steps, TPL_MAX_STEPS);
        tpl_dockerfile_free(&df);
    }
    CHECK_EQ(r, 0);
    o += (size_t)snprintf(src + o, cap - o, "RUN true\n");
    r = tpl_dockerfile_parse(src, o, false, &df, &err);
    free(src);
    CHECK_EQ(r, -EINVAL);
    CHECK_EQ(err.line, TPL_MAX_STEPS + 2);
    CHECK_STR(err.msg, "line 258: more than 256 instructions after FROM");
}

/* `ENV a=$b$b…` chains must stop at a bound, not allocate without one */
TEST(dockerfile_env_blowup)
{
    char src[4096];
    size_t o = (size_t)snprintf(src, sizeof(src), "FROM x\nENV a=0123456789abcdef\n");
    for (int i = 0; i < 30; i++)
        o += (size_t)snprintf(src + o, sizeof(src) - o, "ENV a=$a$a\n");
    struct tpl_dockerfile df;
    struct tpl_error err;
    CHECK_EQ(tpl_dockerfile_parse(src, o, false, &df, &err), -EINVAL);
    CHECK(strstr(err.msg, "ENV expands to more than 64 KiB"));
}

TEST(dockerfile_expansion_total)
{
    size_t cap = 8192, o = 0;
    char *src = malloc(cap);
    CHECK(src);
    o += (size_t)snprintf(src + o, cap - o, "FROM x\nENV a=0123456789abcdef\n");
    for (int i = 0; i < 11; i++)
        o += (size_t)snprintf(src + o, cap - o, "ENV a=$a$a\n");
    o += (size_t)snprintf(src + o, cap - o, "LABEL");
    for (int i = 0; i < 200; i++)
        o += (size_t)snprintf(src + o, cap - o, " l%d=$a", i);
    struct tpl_dockerfile df;
    struct tpl_error err;
    int r = tpl_dockerfile_parse(src, o, false, &df, &err);
    free(src);
    CHECK_EQ(r, -EINVAL);
    CHECK_STR(err.msg, "line 14: the Dockerfile's values expand to more than 4194304 bytes");
}

TEST(dockerfile_names_cap)
{
    size_t cap = 32768, o = 0;
    char *src = malloc(cap);
    CHECK(src);
    o += (size_t)snprintf(src + o, cap - o, "FROM x\n");
    for (int l = 0; l < 129; l++) {
        o += (size_t)snprintf(src + o, cap - o, "ENV");
        for (int k = 0; k < 8; k++)
            o += (size_t)snprintf(src + o, cap - o, " A%d_%d=1", l, k);
        o += (size_t)snprintf(src + o, cap - o, "\n");
    }
    struct tpl_dockerfile df;
    struct tpl_error err;
    int r = tpl_dockerfile_parse(src, o, false, &df, &err);
    free(src);
    CHECK_EQ(r, -EINVAL);
    CHECK_STR(err.msg, "line 130: more than 1024 ENV and ARG names");
}

TEST(expand_words)
{
    struct tpl_vars v = { 0 };
    CHECK_EQ(tpl_vars_set(&v, "A", "one"), 0);
    CHECK_EQ(tpl_vars_set(&v, "E", ""), 0);
    CHECK_EQ(tpl_vars_set(&v, "A", "1"), 0);
    CHECK_STR(tpl_vars_get(&v, "A"), "1");
    CHECK(tpl_vars_get(&v, "Z") == NULL);
    static const struct { const char *in, *out; } ok[] = {
        { "$A", "1" }, { "${A}x", "1x" }, { "$Ax", "" }, { "$Z-", "-" },
        { "${Z:-dflt}", "dflt" }, { "${E:-dflt}", "dflt" }, { "${A:-dflt}", "1" },
        { "${A:+set}", "set" }, { "${E:+set}", "" }, { "${Z:+set}", "" },
        { "\\$A", "$A" }, { "'$A'", "$A" }, { "\"$A b\"", "1 b" }, { "\"\\$A\"", "$A" },
        { "\"a\\nb\"", "a\\nb" }, { "a\\ b", "a b" }, { "$", "$" }, { "a$ b", "a$ b" },
        { "$1", "" }, { "${12}x", "x" }, { "$$", "" }, { "a$/b", "a$/b" }, { "${Z:-${A:-x}y}", "1y" }, { "${Z:-'}'}", "}" }, { "x\\", "x\\" },
        { "", "" },
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *x = tpl_expand(ok[i].in, &v);
        if (!x || strcmp(x, ok[i].out) != 0)
            harness_fail(__FILE__, __LINE__, "%s -> %s, want %s", ok[i].in, x ? x : "(null)",
                         ok[i].out);
        free(x);
    }
    static const char *const einval[] = { "${A", "${}", "${/}", "${A:?x}", "${A%x}", "'a",
                                          "\"a", "${A:-x", "${A:-\"}" };
    for (size_t i = 0; i < sizeof(einval) / sizeof(einval[0]); i++) {
        errno = 0;
        char *x = tpl_expand(einval[i], &v);
        if (x || errno != EINVAL)
            harness_fail(__FILE__, __LINE__, "%s: %s errno %d", einval[i], x ? x : "(null)",
                         errno);
        free(x);
    }
    /* nesting is capped */
    char deep[1200] = "";
    for (int i = 0; i < 100; i++)
        strcat(deep, "${Z:-");
    for (int i = 0; i < 100; i++)
        strcat(deep, "}");
    errno = 0;
    CHECK(tpl_expand(deep, &v) == NULL);
    CHECK_EQ(errno, EINVAL);
    /* the 64 KiB cap */
    char *big = malloc(40000);
    CHECK(big);
    memset(big, 'x', 39999);
    big[39999] = '\0';
    CHECK_EQ(tpl_vars_set(&v, "BIG", big), 0);
    free(big);
    char *x = tpl_expand("$BIG", &v);
    CHECK(x);
    free(x);
    errno = 0;
    CHECK(tpl_expand("$BIG$BIG", &v) == NULL);
    CHECK_EQ(errno, E2BIG);
    tpl_vars_free(&v);
    tpl_vars_free(&v);
}
