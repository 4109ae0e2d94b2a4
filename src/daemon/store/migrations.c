/* SPDX-License-Identifier: MIT */
/* migrations.c: the table of embedded schema migrations. The SQL lives in
 * migrations/NNNN_name.sql; the build turns it into $(O)/gen/store_migrations.inc. Backends apply
 * the migrations; this file only lists them. */
#include "daemon/store/migrations.h"

static const struct store_migration migrations[] = {
#include "store_migrations.inc"
};

const struct store_migration *store_migrations(size_t *ret_n)
{
    *ret_n = sizeof(migrations) / sizeof(migrations[0]);
    return migrations;
}

int store_migrations_latest(void)
{
    return migrations[sizeof(migrations) / sizeof(migrations[0]) - 1].version;
}
