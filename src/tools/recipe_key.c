/* SPDX-License-Identifier: MIT */
/* recipe_key.c: `hearth-recipe-key NAME=PATH... [-s NAME=VALUE]...` prints the cache key of an
 * image recipe (recipe.h). images/build.sh uses it to name cached kernels and root filesystems. */
#include "common/recipe.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    struct recipe_input in[RECIPE_MAX_INPUTS] = { 0 };
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        int literal = strcmp(argv[i], "-s") == 0;
        if (literal && ++i >= argc) {
            fprintf(stderr, "hearth-recipe-key: -s needs NAME=VALUE\n");
            return 2;
        }
        char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            fprintf(stderr, "hearth-recipe-key: '%s' is not NAME=%s\n", argv[i],
                    literal ? "VALUE" : "PATH");
            return 2;
        }
        if (n == RECIPE_MAX_INPUTS) {
            fprintf(stderr, "hearth-recipe-key: more than %d inputs\n", RECIPE_MAX_INPUTS);
            return 2;
        }
        *eq = 0;
        in[n++] = literal ? (struct recipe_input){ .name = argv[i], .data = eq + 1,
                                                   .len = strlen(eq + 1) }
                          : (struct recipe_input){ .name = argv[i], .path = eq + 1 };
    }
    char key[RECIPE_KEY_HEX];
    const char *bad = NULL;
    int r = recipe_key(in, n, key, &bad);
    if (r < 0) {
        fprintf(stderr, "hearth-recipe-key: cannot hash recipe%s%s%s: %s\n", bad ? " input '" : "",
                bad ? bad : "", bad ? "'" : "", n ? strerror(-r) : "no inputs given");
        return 1;
    }
    puts(key);
    return 0;
}
