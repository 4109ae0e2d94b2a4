/* SPDX-License-Identifier: MIT */
/* template_oci.h: a build's OCI base (docs/templates.md "OCI bases"): tpl_oci_import() blocks
 * for seconds to minutes, so it runs on a thread of its own with private copies of what it
 * reads; the loop hears of the end through a pipe and gets the image, its digest, its runtime
 * settings and the import's progress lines. Loop thread only (except the worker). */
#pragma once

#include <stddef.h>

struct ctl;
struct tpl_oci_image;
struct tpl_oci_job;

/* How an import ended: err 0 with img (borrowed for the call), or -errno with msg; lines: the
 * progress lines for the build log (n of them, borrowed). */
typedef void (*tpl_oci_done_fn)(void *ud, int err, const struct tpl_oci_image *img,
                                const char *msg, char **lines, size_t n);

/* Starts importing ref with c->oci. 0 and *ret (done runs once, from the loop), or -errno. */
int tpl_oci_job_start(struct ctl *c, const char *ref, tpl_oci_done_fn done, void *ud,
                      struct tpl_oci_job **ret);
/* The build went away: done never runs; the worker finishes on its own and frees the job. */
void tpl_oci_job_abandon(struct tpl_oci_job *j);
