/* SPDX-License-Identifier: MIT */
/* test_etcenv.c: the guest's /etc/environment as the agent reads it (agent/etcenv.h): comments,
 * export, quotes, replacement, bad lines skipped, the caps, a binary file, a missing file; and
 * spawn_req_parse merging it between the base environment and the request's env. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/etcenv.h"
#include "agent/spawn.h"
#include "harness.h"

static const char *get(const struct etcenv *e, const char *key)
{
    size_t k = strlen(key);
    for (size_t i = 0; i < e->n; i++)
        if (strncmp(e->v[i], key, k) == 0 && e->v[i][k] == '=')
            return e->v[i] + k + 1;
    return NULL;
}

TEST(etcenv_lines)
{
    const char *t = "# comment\n\nA=1\nexport B=\"two words\"\r\n  C='x y' \nbad line\n"
                    "9X=no\nD=\nA=3\n=x\nE==eq\nF=\"unbalanced\n";
    struct etcenv e;
    CHECK_EQ(etcenv_parse(t, strlen(t), &e), 0);
    CHECK_STR(get(&e, "A"), "3");
    CHECK_STR(get(&e, "B"), "two words");
    CHECK_STR(get(&e, "C"), "x y");
    CHECK_STR(get(&e, "D"), "");
    CHECK_STR(get(&e, "E"), "=eq");
    CHECK_STR(get(&e, "F"), "\"unbalanced");
    CHECK(!get(&e, "9X"));
    CHECK_EQ(e.n, 6);
    etcenv_release(&e);
}

TEST(etcenv_hostile)
{
    /* NULs and binary bytes: no crash, only well-formed lines count */
    char bin[4096];
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (char)(i * 7 + 3);
    memcpy(bin + 100, "\nOK=1\n", 6);
    struct etcenv e;
    CHECK_EQ(etcenv_parse(bin, sizeof(bin), &e), 0);
    CHECK_STR(get(&e, "OK"), "1");
    etcenv_release(&e);
    /* more variables than the cap: the first ETCENV_MAX_VARS stay */
    size_t cap = (ETCENV_MAX_VARS + 50) * 16;
    char *many = malloc(cap);
    size_t n = 0;
    for (int i = 0; i < ETCENV_MAX_VARS + 50; i++)
        n += (size_t)snprintf(many + n, cap - n, "V%d=%d\n", i, i);
    CHECK_EQ(etcenv_parse(many, n, &e), 0);
    CHECK_EQ(e.n, ETCENV_MAX_VARS);
    CHECK(get(&e, "V0") && !get(&e, "V300"));
    etcenv_release(&e);
    free(many);
    /* a missing file is an empty set */
    CHECK_EQ(etcenv_load("/nonexistent/environment", &e), 0);
    CHECK_EQ(e.n, 0);
}

TEST(etcenv_spawn_merge)
{
    char path[] = "/tmp/hearth-etcenv-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *t = "PATH=/opt/venv/bin:/usr/bin:/bin\nGREETING=hi\nLANG=en\n";
    CHECK(write(fd, t, strlen(t)) == (ssize_t)strlen(t));
    close(fd);
    spawn_etcenv_path = path;
    json_error_t je;
    json_t *req = json_loads("{\"argv\":[\"env\"],\"env\":{\"LANG\":\"C\",\"X\":\"1\"}}", 0, &je);
    struct spawn_req q;
    char msg[200];
    CHECK_EQ(spawn_req_parse(req, &q, "/", msg, sizeof(msg)), 0);
    int seen = 0;
    for (size_t i = 0; i < q.nenv; i++) {
        seen += strcmp(q.envp[i], "PATH=/opt/venv/bin:/usr/bin:/bin") == 0;
        seen += strcmp(q.envp[i], "GREETING=hi") == 0;
        seen += strcmp(q.envp[i], "LANG=C") == 0; /* the request wins */
        seen += strcmp(q.envp[i], "X=1") == 0;
        seen += strcmp(q.envp[i], "HOME=/root") == 0;
        CHECK(strcmp(q.envp[i], "LANG=en") != 0);
    }
    CHECK_EQ(seen, 5);
    CHECK(q.envp[q.nenv] == NULL);
    spawn_req_release(&q);
    json_decref(req);
    unlink(path);
}
