/* SPDX-License-Identifier: MIT */
/* migrations.h: the numbered schema migrations (src/daemon/store/migrations/NNNN_name.sql),
 * embedded into the binary at build time by scripts/embed-sql.sh. */
#pragma once

#include <stddef.h>

struct store_migration {
    int version;        /* NNNN from the file name; PRAGMA user_version after it applies */
    const char *name;   /* the _name part */
    const char *sql;    /* the whole file */
};

/* All migrations in version order; *ret_n gets their count. Static storage. */
const struct store_migration *store_migrations(size_t *ret_n);
/* The same migrations in PostgreSQL's dialect (migrations_pg/NNNN_name.sql), same numbers and
 * names. Static storage. */
const struct store_migration *store_migrations_pg(size_t *ret_n);
/* The newest schema version this binary knows (the last migration's number). */
int store_migrations_latest(void);
