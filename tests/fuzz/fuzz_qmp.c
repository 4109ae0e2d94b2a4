/* SPDX-License-Identifier: MIT */
/* fuzz_qmp.c: libFuzzer driver for the QMP line parser (qmp_parse_message, src/daemon/host/
 * qmp.c): every line QEMU (or something pretending to be it) sends goes through it first.
 * Run: make fuzz FUZZ_TARGETS=qmp (docs/testing.md "Fuzzing"). */
#include <stddef.h>
#include <stdint.h>

#include "common/herr.h"
#include "daemon/host/qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct qmp_msg m;
    struct herr e = { 0 };
    if (qmp_parse_message((const char *)data, size, &m, &e) == 0)
        qmp_msg_release(&m);
    return 0;
}
