/* SPDX-License-Identifier: MIT */
/* template_layer.h: a build step's layer (docs/templates.md "Layers and the cache"): its key,
 * SHA-256 over who built it, what it sits on and what the step did, and its layer.json, the
 * build settings in effect after the step (the top layer's are the template's runtime
 * settings). Key and JSON are pure; reading and writing layer.json is plain file I/O. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The build settings after a step. Strings owned (tpl_layer_meta_release). */
struct tpl_layer_meta {
    char key[65];
    char parent[4160];                  /* the parent layer's key, or the base identity */
    char user_id[64];
    char *text;                         /* the instruction ("" for the final layer) */
    int64_t created_at;
    char **env;                         /* "KEY=value", NULL-terminated; NULL: none */
    char workdir[1024];
    char user[256];
    char **shell;                       /* NULL: ["/bin/sh","-c"] */
    char **cmd, **entrypoint;           /* NULL: none */
    uint64_t fs_mib;
    int64_t used_bytes;                 /* the final layer: bytes in use on its file system */
};
void tpl_layer_meta_release(struct tpl_layer_meta *m);

/* The key of a step: hex SHA-256 of ("tpl-layer-1", user_id, parent, text, inputs), each
 * length-prefixed so no two tuples hash the same bytes. out: 65 bytes. */
void tpl_layer_key(const char *user_id, const char *parent, const char *text,
                   const char *inputs, char out[65]);

/* layer.json text of m (malloc'd), or NULL on ENOMEM. */
char *tpl_layer_meta_json(const struct tpl_layer_meta *m);
/* Parses layer.json text. 0 or -EINVAL. */
int tpl_layer_meta_parse(const char *text, struct tpl_layer_meta *ret);
/* Writes dir/layer.json (fsync'd). 0 or -errno. */
int tpl_layer_meta_write(const char *dir, const struct tpl_layer_meta *m);
/* Reads dir/layer.json. 0, -ENOENT, -EINVAL. */
int tpl_layer_meta_read(const char *dir, struct tpl_layer_meta *ret);
/* A copy of a NULL-terminated string array (NULL stays NULL); NULL with errno on ENOMEM. */
char **tpl_strv_dup(char *const *v);
void tpl_strv_free(char **v);
size_t tpl_strv_len(char *const *v);
