/* SPDX-License-Identifier: MIT */
/* manifest.h: the manifest object of a snapshot (or of one disk layer) on S3 (docs/snapshots.md
 * "Snapshots on S3"): which files, their sizes, the chunks holding their data (a missing index
 * is a hole: zeros), the snapshot's meta.json verbatim, and what its disk layer backs onto, named
 * by identity (a path relative to data_dir or to images_dir), never by this host's paths. It is
 * written last, so its presence is what makes a snapshot durable. Read back from S3 it is
 * untrusted: the parser bounds every size and accepts only names, paths and hashes of known
 * shapes. Pure: no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/snapstore/chunk.h"

#define SNAP_MANIFEST_VERSION 1
#define SNAP_MANIFEST_MAX (8u << 20)      /* bytes of manifest text accepted */
#define SNAP_META_MAX (64u << 10)         /* bytes of meta.json kept verbatim */
#define SNAP_FILES_MAX 4                  /* files per manifest */
#define SNAP_FILE_MAX_SIZE (1ull << 40)   /* 1 TiB: no snapshot file is bigger */
#define SNAP_REL_SIZE 512                 /* an identity: a relative path */

enum snap_kind {
    SNAP_KIND_SNAPSHOT,                   /* a snapshot directory: mem, disk.qcow2, state */
    SNAP_KIND_LAYER,                      /* one qcow2 file a snapshot's disk backs onto */
};

enum snap_backing {
    SNAP_BACKING_NONE,                    /* the layer stands alone */
    SNAP_BACKING_DATA,                    /* a file under data_dir: its own layer manifest */
    SNAP_BACKING_IMAGE,                   /* a catalog image under images_dir: never uploaded */
};

struct snap_chunk_ref {
    uint64_t index;                       /* offset / chunk_size */
    char sha[SNAP_SHA_HEX];               /* of the plain bytes */
};

struct snap_file {
    char name[16];                        /* "mem", "disk.qcow2", "state" (a layer: "data") */
    uint64_t size;                        /* bytes; the last chunk may be short */
    struct snap_chunk_ref *chunks;        /* owned; strictly ascending index */
    size_t n_chunks;
    size_t cap;                           /* slots allocated in chunks */
};

struct snap_manifest {
    enum snap_kind kind;
    char id[SNAP_REL_SIZE];               /* "snapshots/<sandbox>/<ulid>" or a layer's path */
    uint32_t chunk_size;
    struct snap_file files[SNAP_FILES_MAX];
    size_t n_files;
    enum snap_backing backing;            /* what the disk layer's qcow2 backing file is */
    char backing_path[SNAP_REL_SIZE];     /* relative to data_dir or images_dir; "" for none */
    char parent[SNAP_REL_SIZE];           /* a snapshot's `parent` (relative to data_dir) or "" */
    char *meta;                           /* owned: meta.json verbatim (a snapshot), else NULL */
};

/* Zeroes m. */
void snap_manifest_init(struct snap_manifest *m);
/* Frees what m owns and zeroes it. */
void snap_manifest_release(struct snap_manifest *m);
/* Appends a chunk to file f (indices must ascend). 0, -EINVAL, -ENOMEM. */
__attribute__((warn_unused_result))
int snap_file_add_chunk(struct snap_file *f, uint64_t index, const char *sha);
/* The manifest's object key: "manifests/<id>.json" (a snapshot) or "layers/<id>.json". */
int snap_manifest_key(enum snap_kind kind, const char *id, char *out, size_t size);
/* Whether rel is a safe identity: non-empty, relative, [A-Za-z0-9._-] components joined by '/',
 * none empty, "." or "..", shorter than SNAP_REL_SIZE. */
bool snap_rel_ok(const char *rel);
/* Compact JSON text of m (free()), or NULL when out of memory. */
char *snap_manifest_to_json(const struct snap_manifest *m);
/* Parses text[0..len) into m (initialised here). 0, or -EBADMSG with a one-line *why (static),
 * -ENOMEM. On failure m holds nothing to free. */
__attribute__((warn_unused_result))
int snap_manifest_parse(const char *text, size_t len, struct snap_manifest *m, const char **why);
/* The plain bytes chunk i of a file of size bytes holds (chunk_size, or the rest at the end). */
uint64_t snap_chunk_len(uint64_t size, uint32_t chunk_size, uint64_t index);
