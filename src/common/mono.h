/* SPDX-License-Identifier: MIT */
/* mono.h: monotonic microseconds and deadline arithmetic for the host layer's poll loops. */
#pragma once

#include <stdint.h>
#include <time.h>

/* Monotonic clock in microseconds. */
static inline int64_t mono_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Milliseconds left until deadline_us for poll(): 0 when passed, -1 for deadline_us < 0 (none),
 * rounded up so a poll never wakes just before the deadline and spins. */
static inline int mono_poll_ms(int64_t deadline_us)
{
    if (deadline_us < 0)
        return -1;
    int64_t left = deadline_us - mono_now_us();
    if (left <= 0)
        return 0;
    left = (left + 999) / 1000;
    return left > 1000000 ? 1000000 : (int)left;
}
