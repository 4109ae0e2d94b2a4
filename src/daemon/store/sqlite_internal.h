/* SPDX-License-Identifier: MIT */
/* sqlite_internal.h: what sqlite.c shares with the backend's other files (sqlite_net.c), so
 * each concept keeps its own file without a second copy of the transaction and error helpers.
 * Internal to src/daemon/store. */
#pragma once

#include "daemon/store/backend.h"

#include <sqlite3.h>
#include <stdbool.h>

sqlite3 *sqlite_db(struct store *st);
/* Records the failure of result code rc and returns it as -errno. */
int sqlite_fail(struct store *st, int rc);
/* BEGIN IMMEDIATE (write) or BEGIN (read). */
int sqlite_tx_begin(struct store *st, bool write);
/* Commits when r is 0, else rolls back; returns r or the commit's error. */
int sqlite_tx_end(struct store *st, int r);
/* Prepares sql (cached by the caller's static slot is not worth it for these rare calls). */
int sqlite_prepare(struct store *st, const char *sql, sqlite3_stmt **ret);
/* Copies a text column into a fixed field; NULL reads as "". -EUCLEAN when too long. */
int sqlite_col_text(sqlite3_stmt *q, int i, char *dst, size_t size);

/* sqlite_net.c */
int sqlite_network_insert(struct store *st, const struct store_network *n);
int sqlite_network_get(struct store *st, const char *user_id, const char *ref,
                       struct store_network *ret);
int sqlite_network_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                        struct store_network **ret, size_t *ret_n, uint64_t *ret_total);
int sqlite_network_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                          uint64_t *ret_members);
int sqlite_network_subnets(struct store *st, struct store_strv *ret);
int sqlite_member_add(struct store *st, const char *network_id, const char *sandbox_id,
                      const char *ip, int64_t now_ms);
int sqlite_member_remove(struct store *st, const char *network_id, const char *sandbox_id);
int sqlite_member_list(struct store *st, const char *network_id, const char *sandbox_id,
                       struct store_member **ret, size_t *ret_n);
int sqlite_ips_in_use(struct store *st, struct store_strv *ret);
