/* SPDX-License-Identifier: MIT */
/* crashpt.c: crash points (crashpt.h). The variable is read once; a malformed count makes the
 * step never fire (and says so on stderr), never a crash elsewhere. */
#include "common/crashpt.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/parse.h"

#define CRASHPT_NAME_MAX 64

static struct {
    bool loaded, armed;
    char step[CRASHPT_NAME_MAX];
    unsigned long nth, seen;
} cp;

static void crashpt_load(void)
{
    cp.loaded = true;
    const char *v = getenv("HEARTH_CRASH_AT");
    if (!v || !v[0])
        return;
    const char *colon = strchr(v, ':');
    size_t len = colon ? (size_t)(colon - v) : strlen(v);
    uint64_t n = 1;
    if (len == 0 || len >= sizeof(cp.step) ||
        (colon && parse_u64(colon + 1, 1, 1000000, &n) < 0)) {
        fprintf(stderr, "HEARTH_CRASH_AT='%.80s' is not <step> or <step>:<n>; ignored\n", v);
        return;
    }
    memcpy(cp.step, v, len);
    cp.step[len] = '\0';
    cp.nth = (unsigned long)n;
    cp.armed = true;
}

void crashpt(const char *step)
{
    if (!cp.loaded)
        crashpt_load();
    if (!cp.armed || strcmp(step, cp.step) != 0 || ++cp.seen != cp.nth)
        return;
    /* one write(2), no stdio: the message must be out before the signal */
    char msg[CRASHPT_NAME_MAX + 48];
    int n = snprintf(msg, sizeof(msg), "hearth: crash point '%s' reached: SIGKILL\n", step);
    if (n > 0)
        (void)!write(STDERR_FILENO, msg, (size_t)n);
    (void)raise(SIGKILL); /* does not return */
}
