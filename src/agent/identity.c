/* SPDX-License-Identifier: MIT */
/* identity.c: applies the guest's identity from a HELLO: hostname (kernel and /etc/hostname)
 * and fresh entropy for the kernel CRNG. Trusts nothing in the HELLO: bad values are reported
 * to the caller and skipped. Owns no state; proto.c decides when to apply (a new session). */
#include "agent/identity.h"
#include "common/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "agent/agent.h"

/* Decodes len hex characters into out (room for cap bytes). 0, -EINVAL (odd length or not
 * hex), -EMSGSIZE (more than cap bytes). */
static int hex_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *ret_len)
{
    if (len % 2)
        return -EINVAL;
    if (len / 2 > cap)
        return -EMSGSIZE;
    for (size_t i = 0; i < len; i += 2) {
        int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *ret_len = len / 2;
    return 0;
}

__attribute__((format(printf, 3, 4)))
static int reject(char *reterr, size_t len, const char *fmt, ...)
{
    if (reterr && len && !reterr[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reterr, len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

int identity_from_hello(json_t *hello, struct identity *ret, char *reterr, size_t reterr_len)
{
    int r = 0;
    memset(ret, 0, sizeof(*ret));
    if (reterr && reterr_len)
        reterr[0] = 0;
    json_t *h = json_object_get(hello, "hostname");
    if (h) {
        /* json_string_length counts an embedded NUL, which hostname_valid() refuses */
        if (!json_is_string(h))
            r = reject(reterr, reterr_len, "'hostname' must be a string");
        else if (!hostname_valid(json_string_value(h), json_string_length(h)))
            r = reject(reterr, reterr_len,
                       "'hostname' must be 1-63 characters of [a-z0-9-], not starting with '-'");
        else
            memcpy(ret->hostname, json_string_value(h), json_string_length(h) + 1);
    }
    json_t *e = json_object_get(hello, "entropy");
    if (e) {
        size_t n = 0;
        if (!json_is_string(e)) {
            r = reject(reterr, reterr_len, "'entropy' must be a string");
        } else if (hex_decode(json_string_value(e), json_string_length(e), ret->entropy,
                              sizeof(ret->entropy), &n) < 0 || n < IDENTITY_ENTROPY_MIN) {
            ret->entropy_len = 0;
            r = reject(reterr, reterr_len, "'entropy' must be hex of %u to %u bytes",
                       IDENTITY_ENTROPY_MIN, IDENTITY_ENTROPY_MAX);
        } else {
            ret->entropy_len = n;
        }
    }
    return r;
}

/* The first line of /etc/hostname into out ("" when missing). */
static void read_hostname_file(char *out, size_t len)
{
    out[0] = 0;
    int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, out, len - 1);
    close(fd);
    out[n > 0 ? n : 0] = 0;
    out[strcspn(out, "\n \t")] = 0;
}

void identity_set_hostname(const char *name)
{
    char cur[HOSTNAME_MAX + 2] = "";
    if (gethostname(cur, sizeof(cur) - 1) < 0 || strcmp(cur, name) != 0) {
        if (sethostname(name, strlen(name)) < 0)
            agent_log("cannot set hostname '%s': %s, ignoring", name, strerror(errno));
    }
    /* Guest tools that read the file (Debian's hostname -F, shells' prompts) should agree with
     * the kernel; the file is tiny, so checking it on every new session costs nothing. */
    char file[HOSTNAME_MAX + 2];
    read_hostname_file(file, sizeof(file));
    if (strcmp(file, name) == 0)
        return;
    int fd = open("/etc/hostname", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, name, strlen(name)) < 0 || write(fd, "\n", 1) < 0)
        agent_log("cannot write /etc/hostname: %s, ignoring", strerror(errno));
    if (fd >= 0)
        close(fd);
}

static void add_entropy(const uint8_t *p, size_t len)
{
    /* struct rand_pool_info ends in a flexible array: give it room in a union */
    union {
        struct rand_pool_info info;
        uint8_t raw[sizeof(struct rand_pool_info) + IDENTITY_ENTROPY_MAX];
    } u;
    if (len > IDENTITY_ENTROPY_MAX)
        return;
    u.info.entropy_count = (int)(len * 8); /* the host's getrandom(): full entropy */
    u.info.buf_size = (int)len;
    memcpy(u.raw + offsetof(struct rand_pool_info, buf), p, len);
    int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        agent_log("cannot open /dev/urandom: %s, not reseeding", strerror(errno));
        goto out_wipe;
    }
    if (ioctl(fd, RNDADDENTROPY, &u.info) < 0)
        agent_log("cannot add entropy: %s, ignoring", strerror(errno));
    /* ENODATA means the CRNG was not ready yet; crediting the bytes above made it seed itself
     * from the pool they went into, which is what a reseed would have done */
    else if (ioctl(fd, RNDRESEEDCRNG) < 0 && errno != ENODATA)
        agent_log("cannot reseed the CRNG: %s, ignoring", strerror(errno));
    close(fd);
out_wipe:
    explicit_bzero(&u, sizeof(u)); /* seed material: leave no copy on the stack */
}

void identity_apply(const struct identity *id)
{
    if (id->entropy_len)
        add_entropy(id->entropy, id->entropy_len);
    if (id->hostname[0])
        identity_set_hostname(id->hostname);
}
