/* SPDX-License-Identifier: MIT */
/* json_text.c: JSON value to compact text (json_text.h). */
#include "common/json_text.h"

char *json_text_take(json_t *j)
{
    if (!j)
        return NULL;
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}
