/* SPDX-License-Identifier: MIT */
/* test_config.c: config file parsing with hostile lines, file rewrites (0600, other lines kept),
 * the permission warning, and the precedence of flags, environment, file and defaults. */
#include "cli/cli_config.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct warns {
    unsigned lines[32];
    char why[32][64];
    size_t n;
};

static void on_warn(void *ud, unsigned line, const char *why)
{
    struct warns *w = ud;
    if (w->n < 32) {
        w->lines[w->n] = line;
        snprintf(w->why[w->n++], 64, "%s", why);
    }
}

TEST(config_parse_good_lines)
{
    const char text[] = "# hearth config\n"
                        "api_url = http://127.0.0.1:8080\n"
                        "  api_key=hk_abc   # trailing comment\n"
                        "output = \"json\"\n"
                        "shape = \"s-2 \\\"quoted\\\" \\\\ x\" # c\n"
                        "rootfs =\n"
                        "\n"
                        "\t# indented comment\r\n";
    struct cli_config cfg = { 0 };
    struct warns w = { .n = 0 };
    CHECK_EQ(cli_config_parse(text, sizeof(text) - 1, &cfg, on_warn, &w), 0);
    CHECK_EQ(w.n, 0);
    CHECK_STR(cfg.values[CLI_CFG_API_URL], "http://127.0.0.1:8080");
    CHECK_STR(cfg.values[CLI_CFG_API_KEY], "hk_abc");
    CHECK_STR(cfg.values[CLI_CFG_OUTPUT], "json");
    CHECK_STR(cfg.values[CLI_CFG_SHAPE], "s-2 \"quoted\" \\ x");
    CHECK_STR(cfg.values[CLI_CFG_ROOTFS], "");
    cli_config_release(&cfg);
}

TEST(config_parse_hostile_lines)
{
    static const struct { const char *line; const char *why; } cases[] = {
        { "no equals sign", "expected 'key = value'" },
        { "= value", "empty key" },
        { "colour = red", "unknown key" },
        { "api_keyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy = x", "unknown key" },
        { "api_key = \"unterminated", "unterminated quote" },
        { "api_key = \"a\" junk", "text after the closing quote" },
        { "api_key = a\x1b[31mb", "control character" },
        { "api_key = a\x7f", "control character" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cli_config cfg = { 0 };
        struct warns w = { .n = 0 };
        CHECK_EQ(cli_config_parse(cases[i].line, strlen(cases[i].line), &cfg, on_warn, &w), 0);
        if (w.n != 1 || strcmp(w.why[0], cases[i].why) != 0)
            harness_fail(__FILE__, __LINE__, "case %zu: %zu warnings, '%s'", i, w.n,
                         w.n ? w.why[0] : "");
        for (int k = 0; k < CLI_CFG_NKEYS; k++)
            CHECK(cfg.values[k] == NULL);
        cli_config_release(&cfg);
    }
}

TEST(config_parse_nul_overlong_and_last_wins)
{
    char text[6000];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof(text) - n, "api_key = first\n");
    memcpy(text + n, "api_url = x\0y\n", 14);
    n += 14;
    text[n++] = 's';
    text[n++] = 'h';
    text[n++] = 'a';
    text[n++] = 'p';
    text[n++] = 'e';
    text[n++] = '=';
    memset(text + n, 'a', 5000);
    n += 5000;
    text[n++] = '\n';
    n += (size_t)snprintf(text + n, sizeof(text) - n, "api_key = second");
    struct cli_config cfg = { 0 };
    struct warns w = { .n = 0 };
    CHECK_EQ(cli_config_parse(text, n, &cfg, on_warn, &w), 0);
    CHECK_EQ(w.n, 2);
    CHECK_EQ(w.lines[0], 2);
    CHECK_STR(w.why[0], "NUL byte");
    CHECK_EQ(w.lines[1], 3);
    CHECK_STR(w.why[1], "line too long");
    CHECK_STR(cfg.values[CLI_CFG_API_KEY], "second");
    CHECK(cfg.values[CLI_CFG_API_URL] == NULL);
    CHECK(cfg.values[CLI_CFG_SHAPE] == NULL);
    cli_config_release(&cfg);
}

TEST(config_parse_split_anywhere_never_crashes)
{
    const char text[] = "api_key = \"a\\\"b\"\nshape=x # y\n\"\n=\n#\n";
    for (size_t i = 0; i <= sizeof(text) - 1; i++) {
        struct cli_config cfg = { 0 };
        CHECK_EQ(cli_config_parse(text, i, &cfg, NULL, NULL), 0);
        cli_config_release(&cfg);
    }
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/hearth-cfg-XXXXXX");
    if (!mkdtemp(tmpdir))
        harness_skip("mkdtemp failed");
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

/* What make_tmpdir() made, and everything in it. */
static void rm_tmpdir(void)
{
    if (tmpdir[0])
        nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    tmpdir[0] = '\0';
}

TEST(config_write_keeps_other_lines_and_is_0600)
{
    make_tmpdir();
    char path[128];
    snprintf(path, sizeof(path), "%s/sub/dir/config", tmpdir);
    CHECK_EQ(cli_config_write_key(path, CLI_CFG_API_KEY, "hk_one"), 0);
    struct stat st;
    CHECK_EQ(stat(path, &st), 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    /* a hand-edited file: comments and an unknown key survive a set */
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("# mine\napi_key = old\nfuture_key = 1\napi_key = dup\n", f);
    fclose(f);
    chmod(path, 0644);
    CHECK_EQ(cli_config_write_key(path, CLI_CFG_API_KEY, "has space#"), 0);
    CHECK_EQ(cli_config_write_key(path, CLI_CFG_OUTPUT, "json"), 0);
    char buf[512] = "";
    f = fopen(path, "r");
    size_t got = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[got] = '\0';
    CHECK_STR(buf, "# mine\napi_key = \"has space#\"\nfuture_key = 1\noutput = json\n");
    CHECK_EQ(stat(path, &st), 0);
    CHECK_EQ(st.st_mode & 0777, 0600);

    struct cli_config cfg = { 0 };
    struct warns w = { .n = 0 };
    CHECK_EQ(cli_config_load(path, &cfg, on_warn, &w), 0);
    CHECK_STR(cfg.values[CLI_CFG_API_KEY], "has space#");
    CHECK_EQ(w.n, 1); /* future_key */
    cli_config_release(&cfg);

    CHECK_EQ(cli_config_write_key(path, CLI_CFG_API_KEY, NULL), 0);
    CHECK_EQ(cli_config_load(path, &cfg, NULL, NULL), 0);
    CHECK(cfg.values[CLI_CFG_API_KEY] == NULL);
    CHECK_STR(cfg.values[CLI_CFG_OUTPUT], "json");
    cli_config_release(&cfg);
    CHECK_EQ(cli_config_write_key(path, CLI_CFG_API_KEY, "a\nb"), -EINVAL);
    rm_tmpdir();
}

TEST(config_load_warns_when_readable_by_others)
{
    make_tmpdir();
    char path[128];
    snprintf(path, sizeof(path), "%s/config", tmpdir);
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "api_key = k\n", 12), 12);
    fchmod(fd, 0644);
    close(fd);
    struct cli_config cfg = { 0 };
    struct warns w = { .n = 0 };
    CHECK_EQ(cli_config_load(path, &cfg, on_warn, &w), 0);
    CHECK_EQ(w.n, 1);
    CHECK_EQ(w.lines[0], 0);
    CHECK(strstr(w.why[0], "readable by group or others") != NULL);
    cli_config_release(&cfg);
    chmod(path, 0600);
    w.n = 0;
    CHECK_EQ(cli_config_load(path, &cfg, on_warn, &w), 0);
    CHECK_EQ(w.n, 0);
    cli_config_release(&cfg);
    /* a missing file is an empty config */
    snprintf(path, sizeof(path), "%s/none", tmpdir);
    CHECK_EQ(cli_config_load(path, &cfg, on_warn, &w), 0);
    rm_tmpdir();
}

/* ---- precedence ---- */

static const char *fake_env[16][2];

static const char *get_fake(const char *name)
{
    for (size_t i = 0; i < 16 && fake_env[i][0]; i++)
        if (strcmp(fake_env[i][0], name) == 0)
            return fake_env[i][1];
    return NULL;
}

static void set_env(size_t i, const char *k, const char *v)
{
    fake_env[i][0] = k;
    fake_env[i][1] = v;
}

TEST(precedence_flag_env_createos_config_default)
{
    struct cli_config cfg = { 0 };
    cfg.values[CLI_CFG_API_URL] = strdup("http://cfg:1");
    cfg.values[CLI_CFG_API_KEY] = strdup("hk_cfg");
    struct cli_settings s;
    char err[256];
    struct cli_global_flags f = { 0 };
    memset(fake_env, 0, sizeof(fake_env));

    CHECK_EQ(cli_settings_resolve(&f, get_fake, &cfg, &s, err, sizeof(err)), 0);
    CHECK_STR(s.api_url, "http://cfg:1");
    CHECK_STR(s.api_key, "hk_cfg");
    CHECK_EQ(s.api_key_src, CLI_SRC_CONFIG);
    CHECK(!s.json);

    set_env(0, "CREATEOS_SANDBOX_BASE_URL", "http://createos:2");
    set_env(1, "CREATEOS_SANDBOX_API_KEY", "hk_createos");
    CHECK_EQ(cli_settings_resolve(&f, get_fake, &cfg, &s, err, sizeof(err)), 0);
    CHECK_STR(s.api_url, "http://createos:2");
    CHECK_STR(s.api_key, "hk_createos");

    set_env(2, "HEARTH_API_URL", "http://env:3");
    set_env(3, "HEARTH_API_KEY", "");   /* empty: skipped */
    set_env(4, "HEARTH_OUTPUT", "json");
    CHECK_EQ(cli_settings_resolve(&f, get_fake, &cfg, &s, err, sizeof(err)), 0);
    CHECK_STR(s.api_url, "http://env:3");
    CHECK_STR(s.api_key, "hk_createos");
    CHECK(s.json);

    f.api_url = "https://flag.example/hearth";
    f.api_key = "hk_flag";
    f.output = "table";
    CHECK_EQ(cli_settings_resolve(&f, get_fake, &cfg, &s, err, sizeof(err)), 0);
    CHECK_STR(s.api_url, "https://flag.example/hearth");
    CHECK_STR(s.api_key, "hk_flag");
    CHECK_EQ(s.api_url_src, CLI_SRC_FLAG);
    CHECK(!s.json);
    f.json = true; /* --json beats -o table */
    CHECK_EQ(cli_settings_resolve(&f, get_fake, &cfg, &s, err, sizeof(err)), 0);
    CHECK(s.json);

    cli_config_release(&cfg);
    memset(fake_env, 0, sizeof(fake_env));
    struct cli_global_flags none = { 0 };
    CHECK_EQ(cli_settings_resolve(&none, get_fake, &cfg, &s, err, sizeof(err)), 0);
    CHECK_STR(s.api_url, CLI_DEFAULT_API_URL);
    CHECK(s.api_key == NULL);
    CHECK_EQ(s.api_url_src, CLI_SRC_DEFAULT);
}

TEST(precedence_bad_values_are_usage_errors)
{
    static const struct { const char *url, *output, *env_out, *want; } cases[] = {
        { "http://h/x?y=1", NULL, NULL, "--api-url must not carry a query or fragment" },
        { "http://h/#frag", NULL, NULL, "must not carry a query or fragment" },
        { "ftp://h", NULL, NULL, "is not an http:// or https:// URL" },
        { "http://", NULL, NULL, "is not an http:// or https:// URL" },
        { "http://h", "xml", NULL, "output 'xml' from --output" },
        { "http://h", NULL, "yaml", "output 'yaml' from HEARTH_OUTPUT" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(fake_env, 0, sizeof(fake_env));
        if (cases[i].env_out)
            set_env(0, "HEARTH_OUTPUT", cases[i].env_out);
        struct cli_global_flags f = { .api_url = cases[i].url, .output = cases[i].output };
        struct cli_config cfg = { 0 };
        struct cli_settings s;
        char err[256] = "";
        int r = cli_settings_resolve(&f, get_fake, &cfg, &s, err, sizeof(err));
        const char *want = cases[i].want;
        if (strncmp(want, "--api-url ", 10) == 0) /* "api url '…' from --api-url must …" */
            want += 10;
        if (r != -EINVAL || !strstr(err, want))
            harness_fail(__FILE__, __LINE__, "case %zu: %d '%s'", i, r, err);
    }
}

TEST(config_path_lookup)
{
    char p[256];
    memset(fake_env, 0, sizeof(fake_env));
    CHECK_EQ(cli_config_path(get_fake, p, sizeof(p)), -ENOENT);
    set_env(0, "HOME", "/home/u");
    CHECK_EQ(cli_config_path(get_fake, p, sizeof(p)), 0);
    CHECK_STR(p, "/home/u/.config/hearth/config");
    set_env(1, "XDG_CONFIG_HOME", "/xdg");
    CHECK_EQ(cli_config_path(get_fake, p, sizeof(p)), 0);
    CHECK_STR(p, "/xdg/hearth/config");
    set_env(2, "HEARTH_CONFIG", "/etc/h.conf");
    CHECK_EQ(cli_config_path(get_fake, p, sizeof(p)), 0);
    CHECK_STR(p, "/etc/h.conf");
    char small[8];
    CHECK_EQ(cli_config_path(get_fake, small, sizeof(small)), -ENAMETOOLONG);
}
