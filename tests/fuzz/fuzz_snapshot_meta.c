/* SPDX-License-Identifier: MIT */
/* fuzz_snapshot_meta.c: libFuzzer driver for a snapshot's meta.json as resume, fork and adopt
 * read it back (snapshot_verify(), src/daemon/host/snapshot.c): the input becomes meta.json in
 * a snapshot directory whose other files are real (a state file, a 1 MiB RAM file, a disk
 * layer, a kernel), made once in a temp dir, and is verified against a 1 vCPU, 1 MiB VM on that
 * kernel. "@KERNEL@" and "@SHA256@" in the input become the kernel's path and the state's
 * checksum, so the checks past the parse are reached. Going through the file keeps the driver
 * true to whatever verify reads next (the durability work adds fields).
 * Run: make fuzz FUZZ_TARGETS=snapshot_meta (docs/testing.md "Fuzzing"). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/herr.h"
#include "daemon/host/snapshot.h"
#include "fuzz_tmp.h"

static char dir[64], kernel[PATH_MAX], meta[PATH_MAX], sha[65];

static void put_file(const char *name, const void *p, size_t len, off_t size)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (len && write(fd, p, len) != (ssize_t)len) || (size && ftruncate(fd, size) < 0))
        abort();
    close(fd);
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "%s", fuzz_tmp_dir("snapshot"));
    static const char state[] = "QEVM\0\0\0\3device state";
    put_file("state", state, sizeof(state), 0);
    put_file("mem", NULL, 0, 1 << 20);
    put_file("disk.qcow2", "QFI\xfb", 4, 0);
    put_file("vmlinux", "\x7f" "ELF kernel", 11, 0);
    snprintf(kernel, sizeof(kernel), "%s/vmlinux", dir);
    snprintf(meta, sizeof(meta), "%s/meta.json", dir);
    char path[PATH_MAX];
    uint64_t size;
    snprintf(path, sizeof(path), "%s/state", dir);
    if (snapshot_file_sha256(path, sha, &size) < 0)
        abort();
}

/* Copies in to out (NULL: only counts) replacing each marker with its value; returns the
 * length. */
static size_t expand(const uint8_t *in, size_t len, char *out)
{
    static const struct { const char *marker; const char *value; } subst[] = {
        { "@KERNEL@", kernel }, { "@SHA256@", sha },
    };
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        bool hit = false;
        for (size_t k = 0; k < 2 && !hit; k++) {
            size_t ml = strlen(subst[k].marker);
            if (len - i >= ml && memcmp(in + i, subst[k].marker, ml) == 0) {
                size_t vl = strlen(subst[k].value);
                if (out)
                    memcpy(out + o, subst[k].value, vl);
                o += vl;
                i += ml;
                hit = true;
            }
        }
        if (!hit && out)
            out[o] = (char)in[i];
        if (!hit) {
            o++;
            i++;
        }
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        setup();
    char *text = malloc(expand(data, size, NULL) + 1);
    if (!text)
        return 0;
    size_t n = expand(data, size, text);
    put_file("meta.json", text, n, 0);
    free(text);
    struct snapshot_meta m;
    struct herr e = { 0 };
    int r = snapshot_verify(dir, 1, 1, kernel, SNAPSHOT_VERIFY_RAM, &m, &e);
    if (r == 0) {
        if (m.vcpus != 1 || m.memory_mib != 1 || strcmp(m.kernel, kernel) != 0 ||
            strcmp(m.state_sha256, sha) != 0 ||
            !memchr(m.qemu_version, '\0', sizeof(m.qemu_version)))
            abort();
    } else if (r != -EBADMSG && r != -ESTALE) {
        abort(); /* meta.json is there: only unreadable/other format or another shape */
    }
    return 0;
}
