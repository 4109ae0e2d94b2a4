/* SPDX-License-Identifier: MIT */
/* test_identity.c: the identity a HELLO carries (hostname, entropy): the parser on good and
 * hostile values, and a forked agent that must answer READY to every such HELLO and stay healthy.
 * The forked agent is not PID 1, so it parses but never applies (the test machine keeps its
 * hostname and random pool). */
#include "agent/identity.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "harness.h"

/* n bytes as hex: byte i is (i * 7 + 1) & 0xff. Caller frees. */
static char *hex_of(size_t n)
{
    char *s = malloc(2 * n + 1);
    if (!s)
        return NULL;
    s[0] = 0;
    for (size_t i = 0; i < n; i++)
        snprintf(s + 2 * i, 3, "%02x", (unsigned)((i * 7 + 1) & 0xff));
    return s;
}

/* Parses {"hostname":<h>} (h is JSON text) and checks the outcome. */
static bool parse_hostname(const char *h, int want_r, const char *want)
{
    char text[512];
    snprintf(text, sizeof(text), "{\"hostname\":%s}", h);
    json_t *j = json_loads(text, JSON_ALLOW_NUL, NULL);
    REQUIRE(j);
    struct identity id;
    char why[160];
    int r = identity_from_hello(j, &id, why, sizeof(why));
    json_decref(j);
    if (r != want_r || strcmp(id.hostname, want) != 0) {
        harness_fail(__FILE__, __LINE__, "hostname %s: got %d '%s', want %d '%s'", h, r,
                     id.hostname, want_r, want);
        return false;
    }
    REQUIRE(id.entropy_len == 0);
    REQUIRE(r == 0 ? why[0] == 0 : strstr(why, "hostname") != NULL);
    return true;
}

TEST(identity_hostname_parse)
{
    static const struct { const char *json; int r; const char *want; } cases[] = {
        { "\"clone-a\"", 0, "clone-a" },
        { "\"a\"", 0, "a" },
        { "\"a23456789012345678901234567890123456789012345678901234567890123\"", 0,
          "a23456789012345678901234567890123456789012345678901234567890123" },
        { "\"a234567890123456789012345678901234567890123456789012345678901234\"", -EINVAL, "" },
        { "\"\"", -EINVAL, "" },
        { "\"-a\"", -EINVAL, "" },
        { "\"Clone\"", -EINVAL, "" },
        { "\"a b\"", -EINVAL, "" },
        { "\"a;reboot\"", -EINVAL, "" },
        { "\"caf\\u00e9\"", -EINVAL, "" },
        { "\"\\u2603\"", -EINVAL, "" },
        { "\"ab\\u0000cd\"", -EINVAL, "" },
        { "\"a\\n\"", -EINVAL, "" },
        { "42", -EINVAL, "" },
        { "null", -EINVAL, "" },
        { "true", -EINVAL, "" },
        { "[\"a\"]", -EINVAL, "" },
        { "{\"a\":1}", -EINVAL, "" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK(parse_hostname(cases[i].json, cases[i].r, cases[i].want));
}

/* Parses {"entropy":<e>} and returns the result; *ret_len gets the decoded length. */
static int parse_entropy(json_t *e, size_t *ret_len, struct identity *id)
{
    json_t *j = json_object();
    json_object_set_new(j, "entropy", e);
    char why[160];
    int r = identity_from_hello(j, id, why, sizeof(why));
    json_decref(j);
    *ret_len = id->entropy_len;
    return r;
}

TEST(identity_entropy_parse)
{
    struct identity id;
    size_t n;
    static const struct { size_t bytes; int r; size_t want; } sizes[] = {
        { 32, 0, 32 }, { 64, 0, 64 }, { 512, 0, 512 }, { 31, -EINVAL, 0 }, { 0, -EINVAL, 0 },
        { 513, -EINVAL, 0 }, { 100000, -EINVAL, 0 },
    };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *hex = hex_of(sizes[i].bytes);
        CHECK(hex);
        CHECK_EQ(parse_entropy(json_string(hex), &n, &id), sizes[i].r);
        CHECK_EQ(n, sizes[i].want);
        free(hex);
    }
    /* the bytes decode as written, upper or lower case */
    char *hex = hex_of(64);
    CHECK(hex);
    for (char *p = hex; *p; p++)
        if (p - hex >= 64 && *p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    CHECK_EQ(parse_entropy(json_string(hex), &n, &id), 0);
    CHECK_EQ(n, 64);
    for (size_t i = 0; i < 64; i++)
        CHECK_EQ(id.entropy[i], (i * 7 + 1) & 0xff);
    /* an odd length, one non-hex character, an embedded NUL */
    hex[127] = 0;
    CHECK_EQ(parse_entropy(json_string(hex), &n, &id), -EINVAL);
    hex[127] = '0';
    hex[50] = 'g';
    CHECK_EQ(parse_entropy(json_string(hex), &n, &id), -EINVAL);
    hex[50] = 0;
    CHECK_EQ(parse_entropy(json_stringn(hex, 128), &n, &id), -EINVAL);
    CHECK_EQ(n, 0);
    free(hex);
    /* base64 is not hex */
    CHECK_EQ(parse_entropy(json_string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygp"
                                       "KissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="), &n, &id), -EINVAL);
    /* wrong types */
    CHECK_EQ(parse_entropy(json_integer(7), &n, &id), -EINVAL);
    CHECK_EQ(parse_entropy(json_null(), &n, &id), -EINVAL);
    CHECK_EQ(parse_entropy(json_pack("[i,i]", 1, 2), &n, &id), -EINVAL);
    CHECK_EQ(parse_entropy(json_object(), &n, &id), -EINVAL);
    CHECK_EQ(n, 0);
}

TEST(identity_fields_independent)
{
    /* a bad field does not take the good one with it; absent fields are not errors */
    char *hex = hex_of(32);
    CHECK(hex);
    json_t *j = json_pack("{s:s, s:i}", "entropy", hex, "hostname", 5);
    struct identity id;
    char why[160];
    CHECK_EQ(identity_from_hello(j, &id, why, sizeof(why)), -EINVAL);
    CHECK_EQ(id.entropy_len, 32);
    CHECK_STR(id.hostname, "");
    json_decref(j);
    j = json_pack("{s:s, s:s}", "entropy", "zz", "hostname", "box-1");
    CHECK_EQ(identity_from_hello(j, &id, why, sizeof(why)), -EINVAL);
    CHECK_EQ(id.entropy_len, 0);
    CHECK_STR(id.hostname, "box-1");
    json_decref(j);
    j = json_pack("{s:i}", "version", 1);
    CHECK_EQ(identity_from_hello(j, &id, why, sizeof(why)), 0);
    CHECK_EQ(id.entropy_len, 0);
    CHECK_STR(id.hostname, "");
    json_decref(j);
    free(hex);
}

/* Sends a HELLO of a new session with extra fields (JSON text, starting with ',') and expects
 * the READY that names it. */
static bool hello_ready(struct client *c, const char *session, const char *extra)
{
    size_t len = strlen(extra) + 128;
    char *text = malloc(len);
    REQUIRE(text);
    snprintf(text, len, "{\"version\":1,\"session\":\"%s\"%s}", session, extra);
    int r = client_send_str(c, WIRE_HELLO, 0, text);
    free(text);
    REQUIRE(r == 0);
    struct wire_frame f;
    REQUIRE(client_expect(c, WIRE_READY, 0, &f, 5000) == 1);
    char want[96];
    snprintf(want, sizeof(want), "\"session\":\"%s\"", session);
    if (!memmem(f.payload, f.len, want, strlen(want))) {
        harness_fail(__FILE__, __LINE__, "READY without %s: %.*s", want, (int)f.len,
                     (const char *)f.payload);
        return false;
    }
    return true;
}

TEST(identity_hostile_hellos_still_ready)
{
    struct client c;
    CHECK_EQ(client_start(&c, NULL), 0);
    struct wire_frame f;
    CHECK_EQ(client_expect(&c, WIRE_READY, 0, &f, 5000), 1);
    char *good = hex_of(64), *huge = hex_of(120000); /* 240,000 hex chars: fits one frame */
    CHECK(good && huge);
    size_t big = strlen(huge) + 64;
    char *extra = malloc(big);
    CHECK(extra);
    snprintf(extra, big, ",\"hostname\":\"clone-a\",\"entropy\":\"%s\"", good);
    CHECK(hello_ready(&c, "s1", extra));
    CHECK(hello_ready(&c, "s1", extra)); /* a repeat: not applied again, still answered */
    static const char *const hostile[] = {
        ",\"hostname\":\"a234567890123456789012345678901234567890123456789012345678901234\"",
        ",\"hostname\":\"caf\\u00e9\"",
        ",\"hostname\":\"-rf\"",
        ",\"hostname\":\"\"",
        ",\"hostname\":12",
        ",\"hostname\":null",
        ",\"hostname\":[\"a\"]",
        ",\"hostname\":{\"a\":\"b\"}",
        ",\"entropy\":\"not hex at all\"",
        ",\"entropy\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"",
        ",\"entropy\":\"abc\"",
        ",\"entropy\":\"\"",
        ",\"entropy\":1e300",
        ",\"entropy\":-1",
        ",\"entropy\":[1,2,3]",
        ",\"entropy\":true",
        ",\"hostname\":\"ok\",\"entropy\":{}",
    };
    char session[16];
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        snprintf(session, sizeof(session), "h%zu", i);
        CHECK(hello_ready(&c, session, hostile[i]));
    }
    /* a NUL anywhere makes the whole HELLO bad JSON for the agent (as for every frame): ERROR,
     * and the next HELLO is answered as usual */
    CHECK_EQ(client_send_str(&c, WIRE_HELLO, 0,
                             "{\"version\":1,\"session\":\"nul\",\"hostname\":\"a\\u0000b\"}"), 0);
    CHECK_EQ(client_expect(&c, WIRE_ERROR, 0, &f, 5000), 1);
    char err[32];
    client_error_name(&f, err, sizeof(err));
    CHECK_STR(err, "EINVAL");
    snprintf(extra, big, ",\"entropy\":\"%s\"", huge);
    CHECK(hello_ready(&c, "huge", extra));
    /* still serving */
    CHECK(client_ping(&c));
    struct exec_result r;
    CHECK_EQ(client_exec(&c, 1, "{\"argv\":[\"echo\",\"alive\"]}", NULL, 0, &r), 0);
    CHECK_EQ(r.exit_code, 0);
    exec_result_release(&r);
    free(good);
    free(huge);
    free(extra);
    client_stop(&c);
}
