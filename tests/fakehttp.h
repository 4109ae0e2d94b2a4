/* SPDX-License-Identifier: MIT */
/* fakehttp.h: a scripted HTTP server on 127.0.0.1 for client tests (libhearth, the CLI): a
 * forked child answers one canned response per connection, in order, and logs each request
 * ("<request line>\n<body>\n") for the test to check what went on the wire. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FAKEHTTP_LOG_MAX 65536

struct fake_reply {
    int status;
    const char *headers;    /* extra header lines, each ending in \r\n, or NULL */
    const char *body;
};

struct fake_http {
    pid_t pid;
    int log_fd;             /* read end of the request log */
    char url[64];           /* "http://127.0.0.1:<port>" */
    char log[FAKEHTTP_LOG_MAX];
};

/* Starts the server for script[0..n) (borrowed until fake_http_stop()). Fails the running test
 * and returns false when it cannot. */
bool fake_http_start(struct fake_http *f, const struct fake_reply *script, size_t n);
/* Stops the server (it may still wait for requests that never come) and reads its log into
 * f->log. */
void fake_http_stop(struct fake_http *f);
/* How many times needle occurs in hay. */
size_t fake_http_count(const char *hay, const char *needle);
