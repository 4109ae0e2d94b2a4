/* SPDX-License-Identifier: MIT */
/* manifest.c: the manifest's JSON form (manifest.h) on jansson. The parser checks each field's
 * type, range and shape before using it; nothing it reads is trusted to be consistent. */
#include "daemon/snapstore/manifest.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_text.h"

#define FORMAT "hearth-snapshot-manifest"

static const char *const kind_names[] = { [SNAP_KIND_SNAPSHOT] = "snapshot",
                                          [SNAP_KIND_LAYER] = "layer" };
static const char *const backing_names[] = { [SNAP_BACKING_NONE] = "none",
                                             [SNAP_BACKING_DATA] = "data",
                                             [SNAP_BACKING_IMAGE] = "image" };

void snap_manifest_init(struct snap_manifest *m)
{
    memset(m, 0, sizeof(*m));
}

void snap_manifest_release(struct snap_manifest *m)
{
    for (size_t i = 0; i < SNAP_FILES_MAX; i++)
        free(m->files[i].chunks);
    free(m->meta);
    memset(m, 0, sizeof(*m));
}

int snap_file_add_chunk(struct snap_file *f, uint64_t index, const char *sha)
{
    if (!snap_sha_hex_ok(sha) || (f->n_chunks && f->chunks[f->n_chunks - 1].index >= index))
        return -EINVAL;
    size_t n = f->n_chunks;
    if (n == f->cap) { /* grow by doubling; bounded by the file's size / chunk size */
        size_t cap = n ? n * 2 : 8;
        struct snap_chunk_ref *v = realloc(f->chunks, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        f->chunks = v;
        f->cap = cap;
    }
    f->chunks[n].index = index;
    memcpy(f->chunks[n].sha, sha, SNAP_SHA_HEX);
    f->n_chunks = n + 1;
    return 0;
}

int snap_manifest_key(enum snap_kind kind, const char *id, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%s.json", kind == SNAP_KIND_LAYER ? "layers" : "manifests",
                     id);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

bool snap_rel_ok(const char *rel)
{
    size_t n = strnlen(rel, SNAP_REL_SIZE);
    if (n == 0 || n >= SNAP_REL_SIZE || rel[0] == '/' || rel[n - 1] == '/')
        return false;
    const char *c = rel;
    while (*c) {
        const char *end = strchr(c, '/');
        size_t len = end ? (size_t)(end - c) : strlen(c);
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        for (size_t i = 0; i < len; i++) {
            char x = c[i];
            if (!((x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z') || (x >= '0' && x <= '9') ||
                  x == '.' || x == '_' || x == '-'))
                return false;
        }
        c += len + (end ? 1 : 0);
    }
    return true;
}

uint64_t snap_chunk_len(uint64_t size, uint32_t chunk_size, uint64_t index)
{
    uint64_t off = index * (uint64_t)chunk_size;
    if (off >= size)
        return 0;
    return size - off < chunk_size ? size - off : chunk_size;
}

/* The file names a manifest of kind may hold. */
static bool file_name_ok(enum snap_kind kind, const char *name)
{
    if (kind == SNAP_KIND_LAYER)
        return strcmp(name, "data") == 0;
    return strcmp(name, "mem") == 0 || strcmp(name, "disk.qcow2") == 0 ||
           strcmp(name, "state") == 0;
}

char *snap_manifest_to_json(const struct snap_manifest *m)
{
    json_t *files = json_array();
    for (size_t i = 0; files && i < m->n_files; i++) {
        const struct snap_file *f = &m->files[i];
        json_t *chunks = json_array();
        for (size_t k = 0; chunks && k < f->n_chunks; k++)
            if (json_array_append_new(chunks, json_pack("[Is]", (json_int_t)f->chunks[k].index,
                                                        f->chunks[k].sha)) < 0) {
                json_decref(chunks);
                chunks = NULL;
            }
        json_t *o = chunks ? json_pack("{s:s,s:I,s:o}", "name", f->name, "size",
                                       (json_int_t)f->size, "chunks", chunks)
                           : NULL;
        if (!o || json_array_append_new(files, o) < 0) {
            json_decref(files);
            files = NULL;
        }
    }
    if (!files)
        return NULL;
    json_t *j = json_pack("{s:s,s:i,s:s,s:s,s:I,s:o,s:{s:s,s:s},s:s}", "format", FORMAT,
                          "version", SNAP_MANIFEST_VERSION, "kind", kind_names[m->kind], "id",
                          m->id, "chunk_size", (json_int_t)m->chunk_size, "files", files,
                          "backing", "kind", backing_names[m->backing], "path", m->backing_path,
                          "parent", m->parent);
    if (j && m->meta && json_object_set_new(j, "meta", json_string(m->meta)) < 0) {
        json_decref(j);
        return NULL;
    }
    return json_text_take(j);
}

static int fail(const char **why, const char *text)
{
    *why = text;
    return -EBADMSG;
}

/* A string member of o that fits size (copied into out). */
static int get_str(json_t *o, const char *key, char *out, size_t size, bool empty_ok)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return -EBADMSG;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n >= size || strlen(s) != n || (!empty_ok && n == 0))
        return -EBADMSG;
    memcpy(out, s, n + 1);
    return 0;
}

/* A non-negative integer member of o up to max. */
static int get_u64(json_t *o, const char *key, uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) > max)
        return -EBADMSG;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

static int parse_file(json_t *o, struct snap_manifest *m, struct snap_file *f, const char **why)
{
    if (!json_is_object(o) || get_str(o, "name", f->name, sizeof(f->name), false) < 0 ||
        !file_name_ok(m->kind, f->name))
        return fail(why, "a file has no valid name");
    for (struct snap_file *g = m->files; g < f; g++)
        if (strcmp(g->name, f->name) == 0)
            return fail(why, "a file is listed twice");
    if (get_u64(o, "size", SNAP_FILE_MAX_SIZE, &f->size) < 0)
        return fail(why, "a file's size is missing or out of range");
    json_t *chunks = json_object_get(o, "chunks");
    uint64_t n_max = (f->size + m->chunk_size - 1) / m->chunk_size;
    if (!json_is_array(chunks) || json_array_size(chunks) > n_max)
        return fail(why, "a file's chunk list is missing or longer than its size allows");
    size_t i;
    json_t *c;
    json_array_foreach(chunks, i, c) {
        json_t *idx = json_array_get(c, 0), *sha = json_array_get(c, 1);
        if (!json_is_array(c) || json_array_size(c) != 2 || !json_is_integer(idx) ||
            json_integer_value(idx) < 0 || (uint64_t)json_integer_value(idx) >= n_max ||
            !json_is_string(sha))
            return fail(why, "a chunk entry is not [index, sha256] within the file");
        int r = snap_file_add_chunk(f, (uint64_t)json_integer_value(idx), json_string_value(sha));
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            return fail(why, "chunk indices do not ascend or a hash is not 64 hex digits");
    }
    return 0;
}

int snap_manifest_parse(const char *text, size_t len, struct snap_manifest *m, const char **why)
{
    snap_manifest_init(m);
    if (len > SNAP_MANIFEST_MAX)
        return fail(why, "manifest too large");
    json_error_t err;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(j)) {
        json_decref(j);
        return fail(why, "manifest is not a JSON object");
    }
    int r = 0;
    char s[SNAP_REL_SIZE];
    uint64_t u;
    json_t *files = json_object_get(j, "files"), *backing = json_object_get(j, "backing");
    json_t *meta = json_object_get(j, "meta");
    if (get_str(j, "format", s, sizeof(s), false) < 0 || strcmp(s, FORMAT) != 0)
        r = fail(why, "not a hearth snapshot manifest");
    else if (get_u64(j, "version", 1000, &u) < 0 || u != SNAP_MANIFEST_VERSION)
        r = fail(why, "unknown manifest version");
    else if (get_str(j, "kind", s, sizeof(s), false) < 0 ||
             name_index(kind_names, 2, s) < 0)
        r = fail(why, "unknown manifest kind");
    if (r == 0) {
        m->kind = (enum snap_kind)name_index(kind_names, 2, s);
        if (get_str(j, "id", m->id, sizeof(m->id), false) < 0 || !snap_rel_ok(m->id))
            r = fail(why, "manifest id is not a safe relative path");
        else if (get_u64(j, "chunk_size", 1u << 26, &u) < 0 || u < (1u << 16) ||
                 (u & (u - 1)) != 0)
            r = fail(why, "chunk size is not a power of two from 64 KiB to 64 MiB");
    }
    if (r == 0) {
        m->chunk_size = (uint32_t)u;
        if (!json_is_array(files) || json_array_size(files) == 0 ||
            json_array_size(files) > SNAP_FILES_MAX)
            r = fail(why, "file list missing, empty or too long");
    }
    for (size_t i = 0; r == 0 && i < json_array_size(files); i++) {
        r = parse_file(json_array_get(files, i), m, &m->files[i], why);
        if (r == 0)
            m->n_files = i + 1;
    }
    if (r == 0) {
        int b = -1;
        if (!json_is_object(backing) || get_str(backing, "kind", s, sizeof(s), false) < 0 ||
            (b = name_index(backing_names, 3, s)) < 0 ||
            get_str(backing, "path", m->backing_path, sizeof(m->backing_path), true) < 0)
            r = fail(why, "backing is not {kind, path}");
        else if ((b == SNAP_BACKING_NONE) != (m->backing_path[0] == '\0') ||
                 (m->backing_path[0] && !snap_rel_ok(m->backing_path)))
            r = fail(why, "backing path is not a safe relative path for its kind");
        else
            m->backing = (enum snap_backing)b;
    }
    if (r == 0 && (get_str(j, "parent", m->parent, sizeof(m->parent), true) < 0 ||
                   (m->parent[0] && !snap_rel_ok(m->parent))))
        r = fail(why, "parent is not a safe relative path");
    if (r == 0 && m->kind == SNAP_KIND_SNAPSHOT) {
        if (!json_is_string(meta) || json_string_length(meta) == 0 ||
            json_string_length(meta) > SNAP_META_MAX ||
            strlen(json_string_value(meta)) != json_string_length(meta))
            r = fail(why, "a snapshot manifest needs its meta.json");
        else if (!(m->meta = strdup(json_string_value(meta))))
            r = -ENOMEM;
    } else if (r == 0 && meta) {
        r = fail(why, "a layer manifest has no meta.json");
    }
    json_decref(j);
    if (r < 0)
        snap_manifest_release(m);
    return r;
}
