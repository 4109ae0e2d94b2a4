/* SPDX-License-Identifier: MIT */
/* oci_config.h: the operator's settings of OCI bases (docs/templates.md "OCI bases"): the
 * registries a FROM may pull from, the auth file, the size limit, where the cache and the agent
 * are. Filled by hearthd's serve command from the config keys; read by oci.c and oci_ref.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
