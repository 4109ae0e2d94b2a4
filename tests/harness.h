/* SPDX-License-Identifier: MIT */
/* harness.h: the test harness. Each TEST runs in its own forked child with a deadline, so a
 * crash or a hang fails that test alone. A binary prints one line per test and ends with
 * "harness: N passed, N failed, N skipped"; tests/run.sh adds those lines up. */
#pragma once

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*harness_fn)(void);

void harness_register(const char *name, harness_fn fn, unsigned timeout_s);
/* Marks the running test failed (it goes on; CHECK_* return from the test themselves). */
void harness_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Ends the running test as skipped, with a reason. Does not return. */
void harness_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Monotonic microseconds, for messages (never for assertions on speed). */
uint64_t harness_now_us(void);
/* CPU time (user + system) process pid has used, in seconds; -1 when it cannot be read. For
 * resource bounds ("did not spin"), never for speed. */
double harness_cpu_s(int pid);

#define HARNESS_REG(name, timeout_s)                                                             \
    static void name(void);                                                                      \
    __attribute__((constructor)) static void harness_reg_##name(void)                            \
    {                                                                                            \
        harness_register(#name, name, timeout_s);                                                \
    }                                                                                            \
    static void name(void)

/* A test with the default deadline (60 s), or with its own. */
#define TEST(name) HARNESS_REG(name, 60)
#define TEST_SLOW(name, timeout_s) HARNESS_REG(name, timeout_s)

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            harness_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                \
            return;                                                                              \
        }                                                                                        \
    } while (0)

#define CHECK_INT(a, op, b)                                                                      \
    do {                                                                                         \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                          \
        if (!(check_a_ op check_b_)) {                                                           \
            harness_fail(__FILE__, __LINE__, "%s %s %s: %lld vs %lld", #a, #op, #b, check_a_,    \
                         check_b_);                                                              \
            return;                                                                              \
        }                                                                                        \
    } while (0)

#define CHECK_EQ(a, b) CHECK_INT(a, ==, b)

#define CHECK_STR(a, b)                                                                          \
    do {                                                                                         \
        const char *check_a_ = (a), *check_b_ = (b);                                             \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                         \
            harness_fail(__FILE__, __LINE__, "%s == %s: \"%s\" vs \"%s\"", #a, #b,               \
                         check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");        \
            return;                                                                              \
        }                                                                                        \
    } while (0)

/* Same checks for helper functions that return bool instead of void. */
#define REQUIRE(cond)                                                                            \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            harness_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                              \
            return false;                                                                        \
        }                                                                                        \
    } while (0)
