/* SPDX-License-Identifier: MIT */
/* fuzz_snap_manifest.c: libFuzzer driver for the snapshot manifest parser
 * (src/daemon/snapstore/manifest.c), which reads objects back from S3: untrusted. A manifest it
 * accepts must hold only safe identities and known file names, chunk indices that ascend and
 * fit their file, hashes of 64 hex digits; printed back it must parse to the same manifest.
 * Run: make fuzz FUZZ_TARGETS=snap_manifest (docs/testing.md "Fuzzing"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/snapstore/manifest.h"

static void check(const struct snap_manifest *m)
{
    if (!snap_rel_ok(m->id) || m->n_files == 0 || m->n_files > SNAP_FILES_MAX ||
        (m->backing_path[0] && !snap_rel_ok(m->backing_path)) ||
        (m->parent[0] && !snap_rel_ok(m->parent)) ||
        (m->kind == SNAP_KIND_SNAPSHOT) != (m->meta != NULL))
        abort();
    for (size_t i = 0; i < m->n_files; i++) {
        const struct snap_file *f = &m->files[i];
        for (size_t k = 0; k < f->n_chunks; k++) {
            if (!snap_sha_hex_ok(f->chunks[k].sha) ||
                snap_chunk_len(f->size, m->chunk_size, f->chunks[k].index) == 0 ||
                (k && f->chunks[k].index <= f->chunks[k - 1].index))
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct snap_manifest m, again;
    const char *why;
    if (snap_manifest_parse((const char *)data, size, &m, &why) != 0)
        return 0;
    check(&m);
    char *text = snap_manifest_to_json(&m);
    if (!text)
        abort();
    if (snap_manifest_parse(text, strlen(text), &again, &why) != 0)
        abort();
    if (again.n_files != m.n_files || strcmp(again.id, m.id) != 0 || again.kind != m.kind ||
        again.backing != m.backing || strcmp(again.backing_path, m.backing_path) != 0)
        abort();
    for (size_t i = 0; i < m.n_files; i++)
        if (again.files[i].n_chunks != m.files[i].n_chunks ||
            again.files[i].size != m.files[i].size ||
            (m.files[i].n_chunks && memcmp(again.files[i].chunks, m.files[i].chunks,
                                           m.files[i].n_chunks * sizeof(m.files[i].chunks[0]))))
            abort();
    free(text);
    snap_manifest_release(&again);
    snap_manifest_release(&m);
    return 0;
}
