/* SPDX-License-Identifier: MIT */
/* oci.h: OCI images as template bases (docs/templates.md "OCI bases"): an image from a
 * registry the operator allows is pulled with skopeo, unpacked with umoci, given what every
 * hearth guest needs (/sbin/hearth-agent as init, /etc/hosts, mount points, resize2fs when the
 * image has none) and written as a sparse ext4 image of TPL_OCI_FS_MIB, cached by the image's
 * manifest digest. Runs child processes and blocks for seconds to minutes: callers run it on a
 * thread of their own (the control layer's builder does), never on the loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/tpl/oci_config.h"
#include "daemon/tpl/oci_ref.h"

#define TPL_OCI_FS_MIB 10240            /* the file system size: the default disk */
/* The operator's settings (struct tpl_oci_config) are in oci_config.h, the reference parser and
 * tpl_oci_ref_allowed() in oci_ref.h; both come with this header. */

struct tpl_oci_image {
    char image[1024];                   /* absolute path of the cached ext4 */
    char digest[80];                    /* "sha256:<64 hex>" of the manifest */
    /* the image config's runtime settings, the build's starting ENV/WORKDIR/USER */
    char **env;                         /* "KEY=value", NULL-terminated; owned */
    char workdir[1024];                 /* "" when unset */
    char user[256];                     /* "" when unset */
};
void tpl_oci_image_free(struct tpl_oci_image *img);

/* Pulls (or finds cached) ref and makes its ext4. log(ud, line) gets progress lines for the
 * build log (called on the calling thread). 0 and *ret, or -errno with err (one line: "pull
 * 'localhost:5000/x:1': manifest unknown", "image is 3000 MiB unpacked, over the 2048 MiB
 * limit"). A ref on no allowed registry: -EPERM. */
int tpl_oci_import(const struct tpl_oci_config *c, const char *ref,
                   void (*log)(void *ud, const char *line), void *ud, struct tpl_oci_image *ret,
                   char *err, size_t errlen);
