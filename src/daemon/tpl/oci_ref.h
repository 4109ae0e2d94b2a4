/* SPDX-License-Identifier: MIT */
/* oci_ref.h: OCI image references and the operator's registry list, parsed strictly
 * (docs/templates.md "OCI bases"). Pure: no I/O, no allocation; what the import and the config
 * loader share. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "daemon/tpl/oci_config.h"

#define TPL_OCI_REF_MAX 512             /* a longer reference is refused */

/* "host[:port]/repo[/more][:tag][@sha256:<64 hex>]", split. */
struct tpl_oci_ref {
    char host[256];                     /* "127.0.0.1:5000", "registry.example.com" */
    char repo[256];                     /* "team/app": lowercase components */
    char tag[129];                      /* "" when none */
    char digest[72];                    /* "sha256:<64 hex>", "" when none */
};

/* Parses ref. 0 and *ret, or -EINVAL with a one-line reason in why (a static string). A
 * reference whose first component is not a registry host (no '.', no ':', not "localhost")
 * is not an OCI reference here: -EINVAL. */
int tpl_oci_ref_parse(const char *ref, struct tpl_oci_ref *ret, const char **why);

/* Parses the config value of oci_registries ("host[:port][ insecure], …"; "" is none) into
 * c->reg and c->n_reg. 0, or -EINVAL with the reason in why (a static string). */
int tpl_oci_registries_parse(const char *s, struct tpl_oci_config *c, const char **why);

/* Whether ref ("host[:port]/repo[:tag|@sha256:…]") names an image on an allowed registry;
 * writes the registry's index in *ret_reg. Pure: checks syntax and the host only. */
bool tpl_oci_ref_allowed(const struct tpl_oci_config *c, const char *ref, size_t *ret_reg);
