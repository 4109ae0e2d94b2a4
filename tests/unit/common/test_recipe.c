/* SPDX-License-Identifier: MIT */
/* test_recipe.c: image recipe keys are stable, order-free and sensitive to every byte. */
#include "common/recipe.h"
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static bool write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs(text, f);
    REQUIRE(fclose(f) == 0);
    return true;
}

#define LIT(n, s) { .name = (n), .data = (s), .len = sizeof(s) - 1 }

TEST(recipe_key_known_value)
{
    /* sha256 of "a\0" "1\0" "x": pinned so the key format never changes by accident, which
     * would silently rebuild every cached image */
    struct recipe_input in[] = { LIT("a", "x") };
    char key[RECIPE_KEY_HEX];
    CHECK_EQ(recipe_key(in, 1, key, NULL), 0);
    CHECK_EQ(strlen(key), 64);
    char again[RECIPE_KEY_HEX];
    CHECK_EQ(recipe_key(in, 1, again, NULL), 0);
    CHECK_STR(key, again);
    CHECK_STR(key, "87898619c5d0f3bfb6e8917ff8d8477e56456331d07ec0a674183ca9aad95a93");
}

TEST(recipe_key_ignores_order)
{
    struct recipe_input ab[] = { LIT("a", "1"), LIT("b", "2") };
    struct recipe_input ba[] = { LIT("b", "2"), LIT("a", "1") };
    char k1[RECIPE_KEY_HEX], k2[RECIPE_KEY_HEX];
    CHECK_EQ(recipe_key(ab, 2, k1, NULL), 0);
    CHECK_EQ(recipe_key(ba, 2, k2, NULL), 0);
    CHECK_STR(k1, k2);
}

TEST(recipe_key_tells_inputs_apart)
{
    /* moving a byte across the boundary of two inputs, renaming one, or changing a value must
     * each give a new key */
    struct recipe_input base[] = { LIT("a", "12"), LIT("b", "3") };
    struct recipe_input moved[] = { LIT("a", "1"), LIT("b", "23") };
    struct recipe_input renamed[] = { LIT("a", "12"), LIT("c", "3") };
    struct recipe_input changed[] = { LIT("a", "12"), LIT("b", "4") };
    char k[4][RECIPE_KEY_HEX];
    CHECK_EQ(recipe_key(base, 2, k[0], NULL), 0);
    CHECK_EQ(recipe_key(moved, 2, k[1], NULL), 0);
    CHECK_EQ(recipe_key(renamed, 2, k[2], NULL), 0);
    CHECK_EQ(recipe_key(changed, 2, k[3], NULL), 0);
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            CHECK(strcmp(k[i], k[j]) != 0);
}

TEST(recipe_key_file_equals_literal_and_follows_content)
{
    char path[] = "/tmp/hearth-recipe-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK(write_file(path, "CONFIG_X=y\n"));
    struct recipe_input file[] = { { .name = "config", .path = path } };
    struct recipe_input lit[] = { LIT("config", "CONFIG_X=y\n") };
    char kf[RECIPE_KEY_HEX], kl[RECIPE_KEY_HEX], kf2[RECIPE_KEY_HEX];
    CHECK_EQ(recipe_key(file, 1, kf, NULL), 0);
    CHECK_EQ(recipe_key(lit, 1, kl, NULL), 0);
    CHECK_STR(kf, kl);
    CHECK(write_file(path, "CONFIG_X=n\n"));
    CHECK_EQ(recipe_key(file, 1, kf2, NULL), 0);
    CHECK(strcmp(kf, kf2) != 0);
    unlink(path);
}

TEST(recipe_key_rejects_bad_recipes)
{
    char key[RECIPE_KEY_HEX];
    const char *bad = NULL;
    struct recipe_input dup[] = { LIT("a", "1"), LIT("a", "2") };
    CHECK_EQ(recipe_key(dup, 2, key, &bad), -EINVAL);
    CHECK_STR(bad, "a");
    CHECK_EQ(recipe_key(dup, 0, key, NULL), -EINVAL);
    CHECK_EQ(recipe_key(dup, RECIPE_MAX_INPUTS + 1, key, NULL), -EINVAL);
    struct recipe_input noname[] = { LIT("", "1") };
    CHECK_EQ(recipe_key(noname, 1, key, NULL), -EINVAL);
    struct recipe_input both[] = { { .name = "x", .data = "1", .len = 1, .path = "/etc/hostname" } };
    CHECK_EQ(recipe_key(both, 1, key, NULL), -EINVAL);
    struct recipe_input neither[] = { { .name = "x" } };
    CHECK_EQ(recipe_key(neither, 1, key, NULL), -EINVAL);
    struct recipe_input missing[] = { { .name = "kernel", .path = "/nonexistent/hearth" } };
    bad = NULL;
    CHECK_EQ(recipe_key(missing, 1, key, &bad), -ENOENT);
    CHECK_STR(bad, "kernel");
    struct recipe_input dir[] = { { .name = "d", .path = "/" } };
    CHECK_EQ(recipe_key(dir, 1, key, NULL), -EISDIR);
}
