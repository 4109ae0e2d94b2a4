/* SPDX-License-Identifier: MIT */
/* fuzz_template_image.c: libFuzzer driver for what a create reads of a template
 * (src/daemon/ctl/template_image.c): the input is a top layer's layer.json and, NUL-terminated,
 * a row's options JSON. Whatever is accepted must be bounded and well-formed: every env entry
 * "KEY=value" with a key, an absolute (or empty) workdir, a ready check of one known kind; a
 * refusal leaves nothing allocated and says why. Run: make fuzz FUZZ_TARGETS=template_image
 * (docs/testing.md "Fuzzing"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ctl/template.h"
#include "daemon/ctl/template_vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctl_tpl_image t;
    char err[200] = "";
    memset(&t, 0, sizeof(t));
    if (ctl_tpl_layer_parse((const char *)data, size, &t, err, sizeof(err)) == 0) {
        for (char **e = t.env; e && *e; e++)
            if ((*e)[0] == '=' || !strchr(*e, '='))
                abort();
        if (t.workdir[0] && t.workdir[0] != '/')
            abort();
        if (!memchr(t.user, '\0', sizeof(t.user)) || t.fs_mib == 0)
            abort();
    } else if (!err[0] || t.env) {
        abort();
    }
    ctl_tpl_image_release(&t);
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&t, 0, sizeof(t));
    if (ctl_tpl_options_parse(text, &t, err, sizeof(err)) == 0) {
        if (t.ready.kind > CTL_TPL_READY_DELAY || t.ready.timeout_s == 0 ||
            t.ready.timeout_s > CTL_TPL_READY_TIMEOUT_MAX_S)
            abort();
        if ((t.ready.kind == CTL_TPL_READY_FILE || t.ready.kind == CTL_TPL_READY_COMMAND) &&
            !t.ready.arg)
            abort();
        char tag[65];
        ctl_tpl_golden_tag("00", t.start_cmd, &t.ready, tag);
        if (strlen(tag) != 64)
            abort();
    } else if (t.start_cmd || t.ready.arg) {
        abort();
    }
    ctl_tpl_image_release(&t);
    free(text);
    return 0;
}
