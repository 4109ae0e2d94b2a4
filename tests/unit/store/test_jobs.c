/* SPDX-License-Identifier: MIT */
/* test_jobs.c: the work queue in the store (both backends): enqueue, claim oldest first and only
 * the host's own, finish once, get, fail a host's open jobs (all, or its running ones), purge
 * finished ones; claimers in several processes at once take each job exactly once; argument
 * checks (unknown kind, oversized request or result, empty fields). */
#include "fixture.h"
#include "daemon/store/ids.h"

#include <sys/wait.h>

static bool job(struct store *st, const char *host, int64_t at, char id[STORE_ID_SIZE])
{
    struct store_job j = { .admin = true, .created_at = at };
    REQUIRE(ids_new_job(j.id) == 0);
    snprintf(j.host_id, sizeof(j.host_id), "%s", host);
    snprintf(j.kind, sizeof(j.kind), "create");
    snprintf(j.user_id, sizeof(j.user_id), "alice");
    snprintf(j.key_id, sizeof(j.key_id), "key_x");
    j.request = (char *)"{\"shape\":\"s-1vcpu-256mb\"}";
    REQUIRE(store_job_enqueue(st, &j) == 0);
    if (id)
        memcpy(id, j.id, STORE_ID_SIZE);
    return true;
}

TEST(enqueue_claim_finish)
{
    struct fx f;
    CHECK(fx_open(&f, false));
    char a1[STORE_ID_SIZE], a2[STORE_ID_SIZE], b1[STORE_ID_SIZE];
    CHECK(job(f.st, "host-a", 200, a2));
    CHECK(job(f.st, "host-a", 100, a1));
    CHECK(job(f.st, "host-b", 50, b1));
    struct store_job j;
    CHECK_EQ(store_job_claim(f.st, "host-a", 1000, &j), 0); /* oldest of host-a's */
    CHECK_STR(j.id, a1);
    CHECK_EQ(j.state, STORE_JOB_RUNNING);
    CHECK(j.admin);
    CHECK_STR(j.request, "{\"shape\":\"s-1vcpu-256mb\"}");
    CHECK_STR(j.result, "");
    store_job_release(&j);
    CHECK_EQ(store_job_finish(f.st, a1, true, 200, "{\"id\":\"sb-x\"}", "sb-x", 1100), 0);
    CHECK_EQ(store_job_finish(f.st, a1, true, 200, "{}", "", 1200), -ENOENT); /* once */
    CHECK_EQ(store_job_finish(f.st, a2, true, 200, "{}", "", 1200), -ENOENT); /* not running */
    CHECK_EQ(store_job_get(f.st, a1, &j), 0);
    CHECK_EQ(j.state, STORE_JOB_DONE);
    CHECK_EQ(j.status_code, 200);
    CHECK_STR(j.sandbox_id, "sb-x");
    CHECK_STR(j.result, "{\"id\":\"sb-x\"}");
    CHECK_EQ(j.claimed_at, 1000);
    CHECK_EQ(j.finished_at, 1100);
    store_job_release(&j);
    CHECK_EQ(store_job_claim(f.st, "host-a", 1300, &j), 0);
    CHECK_STR(j.id, a2);
    store_job_release(&j);
    CHECK_EQ(store_job_claim(f.st, "host-a", 1400, &j), -ENOENT);
    CHECK_EQ(store_job_claim(f.st, "host-c", 1400, &j), -ENOENT);
    /* a dead host's open jobs fail, its finished ones stay */
    uint64_t n = 0;
    CHECK_EQ(store_job_fail_host(f.st, "host-a", true, 503, "{\"m\":1}", 1500, &n), 0);
    CHECK_EQ(n, 1); /* a2, running */
    CHECK_EQ(store_job_fail_host(f.st, "host-b", false, 503, "{}", 1500, &n), 0);
    CHECK_EQ(n, 1); /* b1, queued */
    CHECK_EQ(store_job_get(f.st, b1, &j), 0);
    CHECK_EQ(j.state, STORE_JOB_FAILED);
    CHECK_EQ(j.status_code, 503);
    store_job_release(&j);
    CHECK_EQ(store_job_get(f.st, a1, &j), 0);
    CHECK_EQ(j.state, STORE_JOB_DONE);
    store_job_release(&j);
    CHECK_EQ(store_job_purge(f.st, 1400), 0); /* a1 finished at 1100 */
    CHECK_EQ(store_job_get(f.st, a1, &j), -ENOENT);
    CHECK_EQ(store_job_get(f.st, b1, &j), 0);
    store_job_release(&j);
    fx_close(&f);
}

TEST(bad_arguments)
{
    struct fx f;
    CHECK(fx_open(&f, false));
    struct store_job j = { .created_at = 1 };
    CHECK_EQ(store_job_enqueue(f.st, &j), -EINVAL);
    CHECK(ids_new_job(j.id) == 0);
    snprintf(j.host_id, sizeof(j.host_id), "h");
    snprintf(j.kind, sizeof(j.kind), "explode");
    snprintf(j.user_id, sizeof(j.user_id), "alice");
    j.request = (char *)"{}";
    CHECK_EQ(store_job_enqueue(f.st, &j), -EINVAL); /* unknown kind */
    snprintf(j.kind, sizeof(j.kind), "create");
    size_t big = STORE_JOB_REQUEST_MAX + 1;
    char *huge = malloc(big + 1);
    CHECK(huge);
    memset(huge, 'x', big);
    huge[big] = '\0';
    j.request = huge;
    CHECK_EQ(store_job_enqueue(f.st, &j), -EMSGSIZE);
    j.request = (char *)"{}";
    CHECK_EQ(store_job_enqueue(f.st, &j), 0);
    struct store_job c;
    CHECK_EQ(store_job_claim(f.st, "h", 2, &c), 0);
    store_job_release(&c);
    huge[STORE_JOB_RESULT_MAX + 1] = '\0';
    CHECK_EQ(store_job_finish(f.st, j.id, true, 200, huge, "", 3), -EMSGSIZE);
    free(huge);
    CHECK_EQ(store_job_finish(f.st, "", true, 200, "{}", "", 3), -EINVAL);
    CHECK_EQ(store_job_get(f.st, "job_nope", &c), -ENOENT);
    CHECK_EQ(store_job_claim(f.st, "", 2, &c), -EINVAL);
    fx_close(&f);
}

TEST_SLOW(claimers_in_many_processes_take_each_job_once, 120)
{
    struct fx f;
    CHECK(fx_open(&f, false));
    enum { JOBS = 40, WORKERS = 4 };
    for (int i = 0; i < JOBS; i++)
        CHECK(job(f.st, "h", i, NULL));
    int pipes[WORKERS][2];
    pid_t pids[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        CHECK(pipe(pipes[w]) == 0);
        pids[w] = fork();
        CHECK(pids[w] >= 0);
        if (pids[w] == 0) {
            close(pipes[w][0]);
            struct store *st = NULL;
            char err[256];
            if (store_open(f.path, &st, err, sizeof(err)) < 0)
                _exit(2);
            for (;;) {
                struct store_job j;
                int r = store_job_claim(st, "h", 5, &j);
                if (r == -ENOENT)
                    break;
                if (r == -EBUSY)
                    continue;
                if (r < 0)
                    _exit(3);
                if (write(pipes[w][1], j.id, STORE_ID_SIZE) != STORE_ID_SIZE)
                    _exit(4);
                if (store_job_finish(st, j.id, true, 200, "{}", "", 6) < 0)
                    _exit(5);
                store_job_release(&j);
            }
            store_close(st);
            _exit(0);
        }
        close(pipes[w][1]);
    }
    char seen[JOBS * 2][STORE_ID_SIZE];
    int n = 0;
    for (int w = 0; w < WORKERS; w++) {
        char id[STORE_ID_SIZE];
        while (read(pipes[w][0], id, sizeof(id)) == (ssize_t)sizeof(id) && n < JOBS * 2)
            memcpy(seen[n++], id, sizeof(id));
        close(pipes[w][0]);
        int st = 0;
        waitpid(pids[w], &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    CHECK_EQ(n, JOBS); /* every job claimed, none twice */
    for (int i = 0; i < n; i++)
        for (int k = i + 1; k < n; k++)
            CHECK(strcmp(seen[i], seen[k]) != 0);
    fx_close(&f);
}
