/* SPDX-License-Identifier: MIT */
/* test_sample_config.c: etc/hearthd.conf.sample (installed next to the config) cannot drift from
 * config.c: every key hearthd knows has a `#key = value` line, and the file with every such line
 * uncommented parses and yields exactly the defaults (so the values shown are the defaults). A
 * new key fails here until it is added to the sample. Run from the repository root. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "harness.h"

#define SAMPLE "etc/hearthd.conf.sample"

static char *read_sample(size_t *len)
{
    FILE *f = fopen(SAMPLE, "r");
    if (!f)
        harness_skip("no %s here (run from the repository root)", SAMPLE);
    char *text = calloc(1, 1u << 20);
    if (!text)
        harness_fail(__FILE__, __LINE__, "out of memory");
    *len = fread(text, 1, (1u << 20) - 1, f);
    fclose(f);
    return text;
}

/* The line "#<key> = " or "<key> = " at a line start. */
static bool has_key_line(const char *text, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        const char *q = *p == '#' ? p + 1 : p;
        if (strncmp(q, key, kl) == 0 && strncmp(q + kl, " = ", 3) == 0)
            return true;
    }
    return false;
}

TEST(every_key_is_in_the_sample)
{
    size_t len;
    char *text = read_sample(&len);
    size_t n = 0;
    for (const char *k; (k = config_key_name(n)); n++)
        if (!has_key_line(text, k))
            harness_fail(__FILE__, __LINE__, "key '%s' is not in %s (add '#%s = <default>')",
                         k, SAMPLE, k);
    CHECK(n >= 20);
    free(text);
}

TEST(sample_values_are_the_defaults)
{
    size_t len;
    char *text = read_sample(&len);
    /* uncomment "#key = value" lines (a key is lower-case letters, digits and '_') */
    for (char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (p[0] != '#' || !(p[1] >= 'a' && p[1] <= 'z'))
            continue;
        size_t k = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz0123456789_");
        if (strncmp(p + 1 + k, " = ", 3) == 0)
            p[0] = ' ';
    }
    struct hd_config parsed, defaults;
    config_defaults(&parsed);
    config_defaults(&defaults);
    char err[512] = "";
    int r = config_parse(&parsed, text, strlen(text), SAMPLE, err, sizeof(err));
    if (r < 0)
        harness_fail(__FILE__, __LINE__, "the uncommented sample does not parse: %s", err);
    if (memcmp(&parsed, &defaults, sizeof(parsed)) != 0)
        harness_fail(__FILE__, __LINE__, "a value in %s is not the default", SAMPLE);
    free(text);
}

/* The sample as installed (everything commented) changes nothing. */
TEST(sample_as_installed_is_inert)
{
    size_t len;
    char *text = read_sample(&len);
    struct hd_config parsed, defaults;
    config_defaults(&parsed);
    config_defaults(&defaults);
    char err[512] = "";
    CHECK_EQ(config_parse(&parsed, text, len, SAMPLE, err, sizeof(err)), 0);
    CHECK(memcmp(&parsed, &defaults, sizeof(parsed)) == 0);
    free(text);
}
