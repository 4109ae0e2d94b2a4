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

#define TPL_OCI_FS_MIB 10240            /* the file system size: the default disk */
#define TPL_OCI_MAX_REGISTRIES 16

struct tpl_oci_registry {
    char host[256];                     /* "localhost:5000", "registry.example.com" */
    bool insecure;                      /* plain HTTP / no TLS verification */
};

/* Operator settings (config keys oci_registries, oci_auth_file, oci_max_image_mib). */
struct tpl_oci_config {
    struct tpl_oci_registry reg[TPL_OCI_MAX_REGISTRIES];
    size_t n_reg;                       /* 0: OCI bases are off */
    char auth_file[1024];               /* containers-auth.json for private registries; "" none */
    uint64_t max_image_mib;             /* unpacked size limit; the import fails past it */
    char cache_dir[1024];               /* <data_dir>/templates/bases */
    char agent_path[1024];              /* the hearth-agent binary to install as init */
};

/* Whether ref ("host[:port]/repo[:tag|@sha256:…]") names an image on an allowed registry;
 * writes the registry's index in *ret_reg. Pure: checks syntax and the host only. */
bool tpl_oci_ref_allowed(const struct tpl_oci_config *c, const char *ref, size_t *ret_reg);

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
