/* SPDX-License-Identifier: MIT */
/* test_crashpt.c: crash points (common/crashpt.h) in a child process each: the named step (and
 * only it, and only its n-th time with "step:n") kills by SIGKILL; an unset, empty, malformed,
 * zero, overlong or huge-count variable never fires. */
#include <signal.h>
#include <string.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crashpt.h"
#include "harness.h"

/* Runs crashpt over steps (NULL-terminated) in a child with HEARTH_CRASH_AT=value (NULL:
 * unset). 1 when the child died by SIGKILL, -1 when it ended normally. */
static int run(const char *value, const char *const *steps)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (value)
            setenv("HEARTH_CRASH_AT", value, 1);
        else
            unsetenv("HEARTH_CRASH_AT");
        for (int i = 0; steps[i]; i++) {
            crashpt(steps[i]);
        }
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? 1 : -1;
}

TEST(crashpt_fires_only_at_its_step)
{
    const char *steps[] = { "a", "b", "c", NULL };
    CHECK_EQ(run("b", steps), 1);
    CHECK_EQ(run("d", steps), -1);
    CHECK_EQ(run(NULL, steps), -1);
    CHECK_EQ(run("", steps), -1);
    const char *twice[] = { "a", "b", "a", NULL };
    CHECK_EQ(run("a:2", twice), 1);
    CHECK_EQ(run("a:3", twice), -1);
    CHECK_EQ(run("b:1", twice), 1);
}

TEST(crashpt_malformed_values_never_fire)
{
    const char *steps[] = { "a", "a", "a", NULL };
    static const char *const bad[] = {
        "a:", "a:0", "a:-1", "a:+1", "a: 1", "a:1x", "a:99999999999999999999999",
        ":1", ":", "a:1:1", "a ", " a",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (run(bad[i], steps) != -1)
            harness_fail(__FILE__, __LINE__, "'%s' fired", bad[i]);
    char longname[200];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    const char *longsteps[] = { longname, NULL };
    CHECK_EQ(run(longname, longsteps), -1); /* longer than a step name may be: ignored */
}
