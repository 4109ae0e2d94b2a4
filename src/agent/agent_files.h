/* SPDX-License-Identifier: MIT */
/* agent_files.h: FILE_PUT and FILE_GET streams (docs/agent-protocol.md, "Files"). Uploads go to a
 * temporary file renamed over the target at EOF; downloads are sent under flow control. All
 * calls run on the loop; errors are answered on the stream. */
#pragma once

#include <stdbool.h>

struct agent;
struct stream;
struct wire_frame;

void files_put_open(struct agent *ag, const struct wire_frame *f);
void files_get_open(struct agent *ag, const struct wire_frame *f);
/* DATA, CANCEL and anything else sent on an open file stream. */
void files_on_frame(struct agent *ag, struct stream *s, const struct wire_frame *f);
/* Sends one chunk for each FILE_GET that has credit while the queue has room. Returns true when
 * some download could send more right away (the loop must not sleep). */
bool files_pump(struct agent *ag);
/* Ends the stream without a frame: closes the file, removes an unfinished upload. */
void files_abort(struct agent *ag, struct stream *s);
