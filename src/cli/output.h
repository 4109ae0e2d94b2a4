/* SPDX-License-Identifier: MIT */
/* output.h: human output (tables, key: value blocks), value formatting, and the progress
 * line on stderr. JSON output is the payload text from libhearth, printed as is. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hearth/hearth.h"

#define OUT_MAX_COLS 12

/* A table: headers are printed upper-case; columns are as wide as their widest cell. */
struct out_table {
    size_t ncols;
    const char *headers[OUT_MAX_COLS];
    char **cells;                   /* rows × ncols, owned */
    size_t nrows, cap;
};

void out_table_init(struct out_table *t, size_t ncols, const char *const *headers);
/* Adds a row of ncols strings (copied; NULL prints "-"). Returns 0 or -ENOMEM. */
int out_table_add(struct out_table *t, const char *const *row);
/* Prints the table on f, then releases it. */
void out_table_finish(struct out_table *t, FILE *f);

/* key: value lines, keys padded to the widest. */
struct out_kv {
    char *keys[64];
    char *vals[64];
    size_t n;
};
void out_kv_add(struct out_kv *kv, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void out_kv_print(struct out_kv *kv, FILE *f);  /* prints and releases */

/* "512 MiB", "20 GiB" */
void out_mib(int64_t mib, char *buf, size_t n);
/* "1.5 GiB", "300 B" */
void out_bytes(uint64_t bytes, char *buf, size_t n);
/* A quota-like byte count where -1 means unmetered (docs/api.md §2.9): "5.0 GiB" or "unmetered". */
void out_quota(int64_t bytes, char *buf, size_t n);
/* The key: value lines of a Bandwidth view: quota, used, remaining, ingress, capped. */
void out_bandwidth_kv(struct out_kv *kv, const hearth_obj *bw);
/* One line for `sb get`: "1.2 GiB of 5.0 GiB used", "… used, capped", "7 B used, unmetered". */
void out_bandwidth_summary(const hearth_obj *bw, char *buf, size_t n);
/* The name a network member is reachable as, "<hostname>.<network>.hearth.internal"; the
 * hostname is the sandbox name lowercased with '_' and '.' turned into '-' (docs/api.md §1.9). */
void out_member_fqdn(const char *sandbox_name, const char *network, char *buf, size_t n);
/* An API timestamp as local RFC 3339 ("2026-03-01T15:07:09+01:00"); the input when unparsable. */
void out_local_time(const char *rfc3339, char *buf, size_t n);
/* "3m ago", "2d ago"; "-" when unparsable. now_ms is wall-clock milliseconds. */
void out_age(const char *rfc3339, int64_t now_ms, char *buf, size_t n);

/* Prints JSON text and a newline on stdout. */
void out_json(const char *text);

/* The waiting line on stderr (docs/cli.md §4): a spinner on a terminal, else one plain line. */
struct out_progress {
    bool tty;
    bool quiet;
    char what[160];                 /* "creating sandbox", "sb-01J… pausing" */
    uint64_t start_us;
    unsigned frame;
    bool shown;
};
void out_progress_start(struct out_progress *p, bool tty, bool quiet, const char *what);
/* Replaces the text after the spinner (copied). Off a terminal, prints it as a new plain
 * line when it changed, so each observed status gets one line (docs/cli.md §4). */
void out_progress_set(struct out_progress *p, const char *what);
/* Redraws the spinner; returns true (a hearth_progress_fn). */
bool out_progress_tick(void *p);
/* Ends the line with "✓ <done> in 1.2s" (ok) or clears it. */
void out_progress_end(struct out_progress *p, bool ok, const char *done);
uint64_t out_now_us(void);
