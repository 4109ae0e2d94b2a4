/* SPDX-License-Identifier: MIT */
/* fuzz_proc_record.c: libFuzzer driver for what a hostile guest's agent can send about its
 * managed processes (src/daemon/ctl/proc_record.c: records, lists, input answers) and for the
 * strict base64 both the API and libhearth use (src/common/b64.c). The first byte picks the
 * parser. A view that comes out must carry the fields docs/api.md §2.13 always has; base64
 * that decodes must encode back to the same text. Run: make fuzz FUZZ_TARGETS=proc_record. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/b64.h"
#include "daemon/ctl/proc_record.h"

static void check_view(json_t *v)
{
    static const char *const always[] = { "process_id", "kind", "pid", "state", "leader_exited",
                                          "tree_exited", "created_at", "cmd", "args", "cwd",
                                          "output" };
    for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
        if (!json_object_get(v, always[i]))
            __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > (1u << 20))
        return 0;
    uint8_t mode = data[0] % 4;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (mode == 3) {
        size_t n = size - 1;
        uint8_t *out = malloc(B64_DEC_MAX(n) + 1);
        ssize_t got = out ? b64_decode(text, n, out) : -1;
        if (got >= 0) {
            char *back = malloc(B64_ENC_LEN((size_t)got) + 1);
            if (back && (b64_encode(out, (size_t)got, back) != n || memcmp(back, text, n) != 0))
                __builtin_trap();
            free(back);
        }
        free(out);
    } else {
        json_t *v = ctl_proc_answer_view((enum ctl_proc_view)mode, text);
        if (v && mode == CTL_PROC_VIEW_RECORD)
            check_view(v);
        if (v && mode == CTL_PROC_VIEW_LIST) {
            size_t i;
            json_t *one;
            json_array_foreach(json_object_get(v, "processes"), i, one)
                check_view(one);
        }
        json_decref(v);
    }
    free(text);
    return 0;
}
