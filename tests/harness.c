/* SPDX-License-Identifier: MIT */
/* harness.c: runs the registered tests, each in a forked child with a deadline. Usage:
 * test_binary [substring]: only tests whose name contains substring. */
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HARNESS_MAX_TESTS 512
#define EXIT_SKIP 77

static struct {
    const char *name;
    harness_fn fn;
    unsigned timeout_s;
} tests[HARNESS_MAX_TESTS];
static size_t ntests;
static bool failed;

void harness_register(const char *name, harness_fn fn, unsigned timeout_s)
{
    if (ntests < HARNESS_MAX_TESTS)
        tests[ntests++] = (typeof(tests[0])){ name, fn, timeout_s };
}

void harness_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "    %s:%d: ", file, line);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    va_end(ap);
    failed = true;
}

void harness_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("    skip: ", stdout);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    va_end(ap);
    _exit(EXIT_SKIP);
}

uint64_t harness_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

double harness_cpu_s(int pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* fields after the command name, which may hold spaces and ')': state ppid pgrp session
     * tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    const char *q = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (!q || sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                     &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
    (void)sig;
    alarmed = 1;
}

/* Runs one test in a child; returns 0 pass, 1 fail, 2 skip. */
static int run_one(size_t i)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("FAIL %s: fork: %s\n", tests[i].name, strerror(errno));
        return 1;
    }
    if (pid == 0) {
        setpgid(0, 0); /* so a deadline kills whatever the test started too */
        tests[i].fn();
        fflush(stdout);
        _exit(failed ? 1 : 0);
    }
    setpgid(pid, pid);
    alarmed = 0;
    alarm(tests[i].timeout_s);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            break;
        if (alarmed) {
            printf("    deadline of %u s passed, killing the test\n", tests[i].timeout_s);
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
        }
    }
    alarm(0);
    (void)kill(-pid, SIGKILL); /* leftovers of a finished test: ignore if none */
    if (alarmed)
        return 1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SKIP)
        return 2;
    if (WIFSIGNALED(status))
        printf("    killed by signal %d\n", WTERMSIG(status));
    return 1;
}

int main(int argc, char **argv)
{
    struct sigaction sa = { .sa_handler = on_alarm };
    sigaction(SIGALRM, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    unsigned counts[3] = { 0 };
    static const char *const verdict[3] = { "ok  ", "FAIL", "skip" };
    for (size_t i = 0; i < ntests; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1]))
            continue;
        uint64_t t0 = harness_now_us();
        int r = run_one(i);
        counts[r]++;
        printf("%s %s (%" PRIu64 " ms)\n", verdict[r], tests[i].name,
               (harness_now_us() - t0) / 1000);
    }
    printf("harness: %u passed, %u failed, %u skipped\n", counts[0], counts[1], counts[2]);
    return counts[1] ? 1 : 0;
}
