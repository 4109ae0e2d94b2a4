/* SPDX-License-Identifier: MIT */
/* migrations.c: the table of embedded schema migrations. The SQL lives in
 * migrations/NNNN_name.sql; the build turns it into $(O)/gen/store_migrations.inc. Backends apply
 * the migrations; this file only lists them. migrations_pg/ holds the PostgreSQL dialect of each
 * (same number and name), built into $(O)/gen/store_migrations_pg.inc. */
#include "daemon/store/migrations.h"

static const struct store_migration migrations[] = {
#include "store_migrations.inc"
};

/* the same migrations in PostgreSQL's dialect (migrations_pg/, same numbers and names) */
static const struct store_migration migrations_pg[] = {
#include "store_migrations_pg.inc"
};

const struct store_migration *store_migrations(size_t *ret_n)
{
    *ret_n = sizeof(migrations) / sizeof(migrations[0]);
    return migrations;
}

const struct store_migration *store_migrations_pg(size_t *ret_n)
{
    *ret_n = sizeof(migrations_pg) / sizeof(migrations_pg[0]);
    return migrations_pg;
}

int store_migrations_latest(void)
{
    return migrations[sizeof(migrations) / sizeof(migrations[0]) - 1].version;
}
