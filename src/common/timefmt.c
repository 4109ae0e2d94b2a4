/* SPDX-License-Identifier: MIT */
/* timefmt.c: RFC 3339 formatting and parsing of ms-since-epoch timestamps, with civil-date
 * arithmetic done by hand (no gmtime/timegm: they depend on TZ and on a 64-bit time_t range).
 * Pure functions; no allocation. */
#include "common/timefmt.h"

#include <errno.h>
#include <stdbool.h>
#include <time.h>

int64_t timefmt_now_ms(void)
{
    struct timespec ts;
    /* CLOCK_REALTIME cannot fail with a valid clock id and pointer */
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    *ret_y = y + (m <= 2);
    *ret_m = m;
    *ret_d = d;
}

/* ms of 0000-01-01T00:00:00Z and of 10000-01-01T00:00:00Z: the printable range */
#define MS_PER_DAY 86400000LL
#define MIN_MS (-62167219200000LL)
#define END_MS (253402300800000LL)

static void put_digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

int timefmt_rfc3339_ms(int64_t ms, char out[TIMEFMT_RFC3339_LEN + 1])
{
    out[0] = '\0';
    if (ms < MIN_MS || ms >= END_MS)
        return -ERANGE;
    int64_t days = ms >= 0 ? ms / MS_PER_DAY : -((-ms + MS_PER_DAY - 1) / MS_PER_DAY);
    int64_t rem = ms - days * MS_PER_DAY; /* 0 .. MS_PER_DAY-1 */
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    unsigned msec = (unsigned)(rem % 1000), sec = (unsigned)(rem / 1000);
    char *p = out;
    put_digits(p, (unsigned)y, 4);
    p[4] = '-';
    put_digits(p + 5, mo, 2);
    p[7] = '-';
    put_digits(p + 8, d, 2);
    p[10] = 'T';
    put_digits(p + 11, sec / 3600, 2);
    p[13] = ':';
    put_digits(p + 14, sec / 60 % 60, 2);
    p[16] = ':';
    put_digits(p + 17, sec % 60, 2);
    p[19] = '.';
    put_digits(p + 20, msec, 3);
    p[23] = 'Z';
    p[24] = '\0';
    return 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads exactly n digits at s[*pos]; false if any is missing. */
static bool take_digits(const char *s, size_t len, size_t *pos, int n, unsigned *ret)
{
    if (len - *pos < (size_t)n)
        return false;
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        char c = s[*pos + (size_t)i];
        if (!is_digit(c))
            return false;
        v = v * 10 + (unsigned)(c - '0');
    }
    *pos += (size_t)n;
    *ret = v;
    return true;
}

static bool take_char(const char *s, size_t len, size_t *pos, char c)
{
    if (*pos >= len || s[*pos] != c)
        return false;
    (*pos)++;
    return true;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned char dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

int timefmt_parse_rfc3339(const char *s, size_t len, int64_t *ret_ms)
{
    if (!s)
        return -EINVAL;
    size_t pos = 0;
    unsigned y, mo, d, h, mi, sec, msec = 0;
    if (!take_digits(s, len, &pos, 4, &y) || !take_char(s, len, &pos, '-') ||
        !take_digits(s, len, &pos, 2, &mo) || !take_char(s, len, &pos, '-') ||
        !take_digits(s, len, &pos, 2, &d))
        return -EINVAL;
    if (pos >= len || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' '))
        return -EINVAL;
    pos++;
    if (!take_digits(s, len, &pos, 2, &h) || !take_char(s, len, &pos, ':') ||
        !take_digits(s, len, &pos, 2, &mi) || !take_char(s, len, &pos, ':') ||
        !take_digits(s, len, &pos, 2, &sec))
        return -EINVAL;
    if (pos < len && s[pos] == '.') {
        pos++;
        size_t start = pos;
        while (pos < len && is_digit(s[pos])) {
            if (pos - start < 3)
                msec = msec * 10 + (unsigned)(s[pos] - '0');
            pos++;
        }
        if (pos == start)
            return -EINVAL;
        for (size_t n = pos - start; n < 3; n++)
            msec *= 10;
    }
    int64_t off_min = 0;
    if (pos < len && (s[pos] == 'Z' || s[pos] == 'z')) {
        pos++;
    } else if (pos < len && (s[pos] == '+' || s[pos] == '-')) {
        int sign = s[pos] == '-' ? -1 : 1;
        unsigned oh, om;
        pos++;
        if (!take_digits(s, len, &pos, 2, &oh) || !take_char(s, len, &pos, ':') ||
            !take_digits(s, len, &pos, 2, &om))
            return -EINVAL;
        if (oh > 23 || om > 59)
            return -EINVAL;
        off_min = sign * (int64_t)(oh * 60 + om);
    } else {
        return -EINVAL;
    }
    if (pos != len)
        return -EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
        return -EINVAL;
    int64_t days = days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - off_min * 60;
    *ret_ms = secs * 1000 + msec;
    return 0;
}
