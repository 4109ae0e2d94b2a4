/* SPDX-License-Identifier: MIT */
/* fuzz_netcfg.c: libFuzzer driver for the agent's network config parser (src/agent/netcfg.c),
 * which reads the "net" object of every HELLO and NETCFG frame. Each input is parsed as JSON;
 * what parses goes through netcfg_parse(), and an accepted config must have a canonical text,
 * the same one when the object is re-serialised with its keys in another order, and a
 * resolv.conf. Nothing is applied.
 * Run: make fuzz FUZZ_TARGETS=netcfg (docs/testing.md "Fuzzing"). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/netcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, JSON_DISABLE_EOF_CHECK, NULL);
    if (!j)
        return 0;
    struct netcfg c, again;
    char err[256], canon[NETCFG_CANON_MAX], canon2[NETCFG_CANON_MAX], resolv[4096];
    if (netcfg_parse(j, &c, err, sizeof(err)) == 0) {
        if (netcfg_canonical(&c, canon, sizeof(canon)) < 0)
            abort();
        char *sorted = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
        json_t *back = sorted ? json_loads(sorted, 0, NULL) : NULL;
        if (!back || netcfg_parse(back, &again, err, sizeof(err)) != 0 ||
            netcfg_canonical(&again, canon2, sizeof(canon2)) < 0 || strcmp(canon, canon2) != 0)
            abort();
        json_decref(back);
        free(sorted);
        (void)netcfg_resolv_conf(&c, resolv, sizeof(resolv));
    }
    json_decref(j);
    return 0;
}
