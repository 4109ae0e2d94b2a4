/* SPDX-License-Identifier: MIT */
/* test_oci.c: OCI images as template bases (src/daemon/tpl/oci.c, docs/templates.md "OCI
 * bases") against a real registry: Debian's docker-registry on loopback and an image built
 * with umoci (tests/oci/registry.sh), pulled with skopeo, made into an ext4 and booted in a
 * real microVM with hearth-agent as init. Run from the repository root (as `make test` does);
 * each test has its own registry and cache, torn down at its end. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/tpl/oci.h"
#include "daemon/tpl/oci_ref.h"
#include "harness.h"
#include "vmtest.h"

#define REGISTRY_SH "tests/oci/registry.sh"
#define MIB (1024ull * 1024)

struct fx {
    char dir[64];                       /* /tmp/hearth-oci.XXXXXX: registry, cache, files */
    int port;
    pid_t registry;
    struct tpl_oci_config c;
    char log[16384];                    /* the import's log lines */
    char err[512];
};

/* Runs argv; stdout into out (may be NULL). The exit status, or -1. */
static int run(char *const argv[], char *out, size_t cap)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2); /* debugfs's banner, tools' chatter */
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    char buf[4096];
    ssize_t got;
    while ((got = read(p[0], buf, sizeof(buf))) > 0)
        if (out && n + (size_t)got < cap) {
            memcpy(out + n, buf, (size_t)got);
            n += (size_t)got;
        }
    close(p[0]);
    if (out)
        out[n] = '\0';
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *agent_path(void)
{
    static char path[PATH_MAX];
    const char *bin = getenv("HEARTH_BIN");
    snprintf(path, sizeof(path), "%s/hearth-agent", bin && bin[0] ? bin : "build/bin");
    if (access(path, X_OK) < 0)
        harness_skip("no hearth-agent at %s (make build/bin/hearth-agent)", path);
    return path;
}

static void on_log(void *ud, const char *line)
{
    struct fx *f = ud;
    size_t n = strlen(f->log);
    snprintf(f->log + n, sizeof(f->log) - n, "%s\n", line);
}

/* A registry on 127.0.0.1 (htpasswd "user:pass" when given), a cache, OCI config allowing it. */
static bool fx_start(struct fx *f, const char *htpasswd)
{
    memset(f, 0, sizeof(*f));
    if (access("/usr/bin/docker-registry", X_OK) < 0 || access("/usr/bin/skopeo", X_OK) < 0 ||
        access("/usr/bin/umoci", X_OK) < 0)
        harness_skip("docker-registry, skopeo or umoci missing (scripts/install-deps.sh)");
    snprintf(f->dir, sizeof(f->dir), "/tmp/hearth-oci.XXXXXX");
    REQUIRE(mkdtemp(f->dir));
    /* tests/run.sh gives each test binary a network namespace; the pid spreads direct runs */
    f->port = 20000 + (int)(getpid() % 20000);
    char reg[128], port[16];
    snprintf(reg, sizeof(reg), "%s/registry", f->dir);
    snprintf(port, sizeof(port), "%d", f->port);
    char *argv[] = { REGISTRY_SH, "run", "-d", reg, "-a", "127.0.0.1", "-p", port,
                     htpasswd ? "--htpasswd" : NULL, (char *)htpasswd, NULL };
    char out[64];
    REQUIRE(run(argv, out, sizeof(out)) == 0);
    f->registry = (pid_t)atoi(out);
    REQUIRE(f->registry > 0);
    const char *why;
    char regs[64];
    snprintf(regs, sizeof(regs), "127.0.0.1:%d insecure", f->port);
    REQUIRE(tpl_oci_registries_parse(regs, &f->c, &why) == 0);
    snprintf(f->c.cache_dir, sizeof(f->c.cache_dir), "%s/cache", f->dir);
    snprintf(f->c.agent_path, sizeof(f->c.agent_path), "%.1000s", agent_path());
    f->c.max_image_mib = 4096;
    return true;
}

/* Whether pid runs (not gone, not a zombie waiting for its reaper). */
static bool alive(pid_t pid)
{
    char path[64], st[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *p = fopen(path, "r");
    if (!p)
        return false;
    size_t n = fread(st, 1, sizeof(st) - 1, p);
    fclose(p);
    st[n] = '\0';
    const char *paren = strrchr(st, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z';
}

static void fx_stop(struct fx *f)
{
    /* the pid is timeout(1)'s (registry.sh), which passes SIGTERM on to the registry: give it
     * the time to, since a SIGKILL to timeout would orphan the registry */
    if (f->registry > 0) {
        kill(f->registry, SIGTERM);
        for (int i = 0; i < 100 && alive(f->registry); i++)
            usleep(50000);
        if (alive(f->registry))
            kill(f->registry, SIGKILL);
    }
    if (f->dir[0]) {
        char *argv[] = { "rm", "-rf", f->dir, NULL };
        run(argv, NULL, 0);
    }
}

/* Builds and pushes an image as ref "127.0.0.1:PORT/<repo>" with registry.sh's extra args. */
static bool fx_image(struct fx *f, const char *repo, char *ref, size_t reflen, char *const extra[])
{
    snprintf(ref, reflen, "127.0.0.1:%d/%s", f->port, repo);
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/img", f->dir);
    char *argv[16] = { REGISTRY_SH, "build-image", "-d", dir, "-r", ref };
    size_t n = 6;
    for (size_t i = 0; extra && extra[i] && n < 15; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    REQUIRE(run(argv, NULL, 0) == 0);
    return true;
}

static int import(struct fx *f, const char *ref, struct tpl_oci_image *img)
{
    f->log[0] = '\0';
    return tpl_oci_import(&f->c, ref, on_log, f, img, f->err, sizeof(f->err));
}

/* `debugfs -R "cat path"` of the image into out; the status. */
static int image_cat(const char *image, const char *path, char *out, size_t cap)
{
    char req[256];
    snprintf(req, sizeof(req), "cat %s", path);
    char *argv[] = { "debugfs", "-R", req, (char *)image, NULL };
    return run(argv, out, cap);
}

/* The mode debugfs reports for path ("Mode:  04755"), 0 when none. */
static unsigned image_mode(const char *image, const char *path)
{
    char req[256], out[4096];
    snprintf(req, sizeof(req), "stat %s", path);
    char *argv[] = { "debugfs", "-R", req, (char *)image, NULL };
    if (run(argv, out, sizeof(out)) != 0)
        return 0;
    const char *m = strstr(out, "Mode:");
    return m ? (unsigned)strtoul(m + 5, NULL, 8) : 0;
}

static bool has_env(const struct tpl_oci_image *img, const char *kv)
{
    for (char **e = img->env; e && *e; e++)
        if (strcmp(*e, kv) == 0)
            return true;
    return false;
}

TEST_SLOW(import_makes_a_hearth_guest_and_caches_it, 300)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        goto out;
    char ref[128];
    if (!fx_image(&f, "test/busybox:1", ref, sizeof(ref), NULL))
        goto out;
    struct tpl_oci_image img;
    int r = import(&f, ref, &img);
    if (r != 0)
        harness_fail(__FILE__, __LINE__, "import: %d %s\n%s", r, f.err, f.log);
    CHECK_EQ(r, 0);
    CHECK(strncmp(img.digest, "sha256:", 7) == 0 && strlen(img.digest) == 71);
    char want[PATH_MAX];
    snprintf(want, sizeof(want), "%s/%s.ext4", f.c.cache_dir, img.digest + 7);
    CHECK_STR(img.image, want);
    struct stat st;
    CHECK_EQ(stat(img.image, &st), 0);
    CHECK_EQ(st.st_size, (long long)TPL_OCI_FS_MIB * (long long)MIB);
    CHECK((uint64_t)st.st_blocks * 512 < 256 * MIB); /* sparse */
    CHECK_EQ(stat(f.c.cache_dir, &st), 0);
    CHECK_EQ(st.st_mode & 0777, 0700);
    CHECK(has_env(&img, "HEARTH_OCI_TEST=1"));
    for (char **e = img.env; *e; e++) /* the malformed entries were dropped */
        CHECK(!strstr(*e, "HEARTH_BAD") && !strstr(*e, "HEARTH BAD"));
    CHECK_STR(img.workdir, "/work");
    CHECK_STR(img.user, "root");
    char out[8192];
    CHECK_EQ(image_cat(img.image, "/etc/hearth-oci-test", out, sizeof(out)), 0);
    CHECK_STR(out, "hearth oci test image\n");
    CHECK_EQ(image_cat(img.image, "/etc/hosts", out, sizeof(out)), 0);
    CHECK(strstr(out, "127.0.1.1 sandbox"));
    CHECK_EQ(image_cat(img.image, "/etc/hostname", out, sizeof(out)), 0);
    CHECK_STR(out, "sandbox\n");
    CHECK_EQ(image_mode(img.image, "/sbin/hearth-agent"), 0755);
    CHECK_EQ(image_mode(img.image, "/sbin/resize2fs"), 0755);
    CHECK_EQ(image_mode(img.image, "/tmp"), 01777);
    CHECK(image_mode(img.image, "/proc") != 0);
    /* the whiteout of the second layer removed the file; no .wh. entry is left */
    CHECK_EQ(image_mode(img.image, "/etc/removed"), 0);
    CHECK_EQ(image_mode(img.image, "/etc/.wh.removed"), 0);
    /* setuid bits stay (the guest's business; the host never mounts the image) */
    CHECK_EQ(image_mode(img.image, "/bin/suid-test"), 04755);
    CHECK(strstr(f.log, "pulling"));
    tpl_oci_image_free(&img);

    /* no work directory is left behind */
    char *ls[] = { "sh", "-c", "ls -A \"$0\" | grep -c '^\\.tmp-' || true", f.c.cache_dir, NULL };
    CHECK_EQ(run(ls, out, sizeof(out)), 0);
    CHECK_STR(out, "0\n");

    /* the second import of the same digest is a cache hit: no pull */
    r = import(&f, ref, &img);
    CHECK_EQ(r, 0);
    CHECK_STR(img.image, want);
    CHECK(has_env(&img, "HEARTH_OCI_TEST=1"));
    CHECK(!strstr(f.log, "pulling"));
    CHECK(strstr(f.log, "using the cached"));
    tpl_oci_image_free(&img);
    CHECK(img.env == NULL);
out:
    fx_stop(&f);
}

struct racer {
    struct fx *f;
    const char *ref;
    struct tpl_oci_image img;
    char log[16384], err[512];
    int r;
};

static void on_racer_log(void *ud, const char *line)
{
    struct racer *x = ud;
    size_t n = strlen(x->log);
    snprintf(x->log + n, sizeof(x->log) - n, "%s\n", line);
}

static void *race(void *arg)
{
    struct racer *x = arg;
    x->r = tpl_oci_import(&x->f->c, x->ref, on_racer_log, x, &x->img, x->err, sizeof(x->err));
    return NULL;
}

TEST_SLOW(concurrent_imports_of_one_digest, 300)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        goto out;
    char ref[128];
    if (!fx_image(&f, "test/busybox:1", ref, sizeof(ref), NULL))
        goto out;
    struct racer x[2] = { { .f = &f, .ref = ref }, { .f = &f, .ref = ref } };
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, race, &x[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ(x[0].r, 0);
    CHECK_EQ(x[1].r, 0);
    CHECK_STR(x[0].img.image, x[1].img.image);
    /* one pulled, the other waited for its lock and found the result */
    CHECK_EQ((strstr(x[0].log, "pulling") != NULL) + (strstr(x[1].log, "pulling") != NULL), 1);
    /* a crash's work directory of this digest goes with the next import of it */
    char stale[PATH_MAX];
    snprintf(stale, sizeof(stale), "%s/.tmp-%.16s-crashed", f.c.cache_dir, x[0].img.digest + 7);
    CHECK_EQ(mkdir(stale, 0700), 0);
    CHECK_EQ(unlink(x[0].img.image), 0);
    struct tpl_oci_image img;
    CHECK_EQ(import(&f, ref, &img), 0);
    CHECK(strstr(f.log, "removed the stale work directory"));
    CHECK(access(stale, F_OK) < 0);
    tpl_oci_image_free(&img);
    tpl_oci_image_free(&x[0].img);
    tpl_oci_image_free(&x[1].img);
out:
    fx_stop(&f);
}

TEST_SLOW(import_errors_are_clean, 300)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        goto out;
    char ref[128], other[160];
    if (!fx_image(&f, "test/busybox:1", ref, sizeof(ref), NULL))
        goto out;
    struct tpl_oci_image img;
    /* a missing tag */
    snprintf(other, sizeof(other), "127.0.0.1:%d/test/busybox:nope", f.port);
    CHECK_EQ(import(&f, other, &img), -EIO);
    CHECK(strstr(f.err, "pull '127.0.0.1:") && strstr(f.err, "manifest unknown"));
    CHECK(!strchr(f.err, '\n'));
    CHECK(img.env == NULL && img.image[0] == '\0');
    /* a registry the operator did not allow: refused before any network */
    snprintf(other, sizeof(other), "127.0.0.1:%d/test/busybox:1", f.port + 1);
    CHECK_EQ(import(&f, other, &img), -EPERM);
    CHECK(strstr(f.err, "not allowed"));
    CHECK_STR(f.log, "");
    CHECK_EQ(import(&f, "registry.example.com/a:1", &img), -EPERM);
    /* references that are not OCI references, or are hostile */
    CHECK_EQ(import(&f, "busybox:1", &img), -EINVAL);
    snprintf(other, sizeof(other), "127.0.0.1:%d/test/busybox:1;touch /tmp/x", f.port);
    CHECK_EQ(import(&f, other, &img), -EINVAL);
    snprintf(other, sizeof(other), "docker://127.0.0.1:%d/test/busybox:1", f.port);
    CHECK_EQ(import(&f, other, &img), -EINVAL);
    CHECK_STR(f.log, "");
    /* the same registry reached over TLS (not marked insecure) fails cleanly */
    f.c.reg[0].insecure = false;
    CHECK(import(&f, ref, &img) < 0);
    CHECK(strstr(f.err, "HTTPS") || strstr(f.err, "http"));
    f.c.reg[0].insecure = true;
    /* a missing agent binary */
    snprintf(f.c.agent_path, sizeof(f.c.agent_path), "%s/no-agent", f.dir);
    CHECK(import(&f, ref, &img) < 0);
    CHECK(strstr(f.err, "hearth-agent"));
    /* nothing is cached by the failures, and no work directory is left (a lock file may) */
    char out[256];
    char *ls[] = { "sh", "-c", "ls -A \"$0\" | grep -vc '\\.lock$' || true", f.c.cache_dir,
                   NULL };
    CHECK_EQ(run(ls, out, sizeof(out)), 0);
    CHECK_STR(out, "0\n");
out:
    fx_stop(&f);
}

TEST_SLOW(import_size_limits, 300)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        goto out;
    f.c.max_image_mib = 16;
    char ref[128];
    struct tpl_oci_image img;
    /* 24 MiB of zeros: a small layer that unpacks past the limit (du of the tree) */
    char *zeros[] = { "--pad-mib", "24", NULL };
    if (!fx_image(&f, "test/zeros:1", ref, sizeof(ref), zeros))
        goto out;
    CHECK_EQ(import(&f, ref, &img), -EFBIG);
    if (!strstr(f.err, "MiB unpacked, over the 16 MiB limit"))
        harness_fail(__FILE__, __LINE__, "err: %s", f.err);
    /* 24 MiB of random bytes: refused from the manifest's layer sizes, before the pull */
    char *rnd[] = { "--pad-random-mib", "24", NULL };
    if (!fx_image(&f, "test/random:1", ref, sizeof(ref), rnd))
        goto out;
    CHECK_EQ(import(&f, ref, &img), -EFBIG);
    CHECK(strstr(f.err, "compressed, over the 16 MiB limit"));
    CHECK(!strstr(f.log, "pulling"));
    /* under the limit it imports */
    f.c.max_image_mib = 64;
    CHECK_EQ(import(&f, ref, &img), 0);
    tpl_oci_image_free(&img);
out:
    fx_stop(&f);
}

TEST_SLOW(import_never_writes_outside_the_tree, 300)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        goto out;
    /* the image's /etc/hosts and /etc/hostname point at this host file */
    char host_file[128];
    snprintf(host_file, sizeof(host_file), "%s/host-file", f.dir);
    FILE *h = fopen(host_file, "w");
    CHECK(h);
    fputs("HOST\n", h);
    fclose(h);
    char ref[128];
    char *hostile[] = { "--hostile", host_file, NULL };
    if (!fx_image(&f, "test/hostile:1", ref, sizeof(ref), hostile))
        goto out;
    struct tpl_oci_image img;
    int r = import(&f, ref, &img);
    if (r != 0)
        harness_fail(__FILE__, __LINE__, "import: %d %s\n%s", r, f.err, f.log);
    CHECK_EQ(r, 0);
    char out[4096];
    h = fopen(host_file, "r");
    CHECK(h);
    CHECK(fgets(out, sizeof(out), h));
    fclose(h);
    CHECK_STR(out, "HOST\n");
    /* the links were replaced by hearth's files, not followed */
    CHECK_EQ(image_cat(img.image, "/etc/hostname", out, sizeof(out)), 0);
    CHECK_STR(out, "sandbox\n");
    CHECK_EQ(image_mode(img.image, "/etc/hosts"), 0644);
    CHECK_EQ(image_mode(img.image, "/escape"), 0777); /* kept as a link in the guest */
    tpl_oci_image_free(&img);

    /* hard links to a host file: umoci resolves their target inside the tree, finds none and
     * fails; the host file gains no link, and no image is made */
    char *hard[] = { "--hardlink", host_file, NULL };
    if (!fx_image(&f, "test/hardlink:1", ref, sizeof(ref), hard))
        goto out;
    CHECK(import(&f, ref, &img) < 0);
    CHECK(strstr(f.err, "unpack '"));
    struct stat st;
    CHECK_EQ(stat(host_file, &st), 0);
    CHECK_EQ(st.st_nlink, 1);
out:
    fx_stop(&f);
}

/* containers-auth.json for the fixture's registry with user:pass. */
static bool write_auth(struct fx *f, const char *userpass, char *path, size_t len)
{
    snprintf(path, len, "%s/auth-%zu.json", f->dir, strlen(userpass));
    unsigned char b64[256];
    EVP_EncodeBlock(b64, (const unsigned char *)userpass, (int)strlen(userpass));
    FILE *a = fopen(path, "w");
    REQUIRE(a);
    fprintf(a, "{\"auths\":{\"127.0.0.1:%d\":{\"auth\":\"%s\"}}}\n", f->port, b64);
    fclose(a);
    return true;
}

TEST_SLOW(import_from_a_private_registry, 300)
{
    struct fx f;
    if (!fx_start(&f, "hearth:s3cret"))
        goto out;
    char ref[128];
    char *creds[] = { "--creds", "hearth:s3cret", NULL };
    if (!fx_image(&f, "private/busybox:1", ref, sizeof(ref), creds))
        goto out;
    struct tpl_oci_image img;
    /* anonymous: refused by the registry, a clean error */
    CHECK(import(&f, ref, &img) < 0);
    CHECK(strstr(f.err, "pull '") && strstr(f.err, "auth"));
    /* wrong credentials */
    char bad[256], good[256];
    CHECK(write_auth(&f, "hearth:wrong", bad, sizeof(bad)));
    snprintf(f.c.auth_file, sizeof(f.c.auth_file), "%s", bad);
    CHECK(import(&f, ref, &img) < 0);
    CHECK(strstr(f.err, "pull '") && strstr(f.err, "auth"));
    /* the right ones */
    CHECK(write_auth(&f, "hearth:s3cret", good, sizeof(good)));
    snprintf(f.c.auth_file, sizeof(f.c.auth_file), "%s", good);
    int r = import(&f, ref, &img);
    if (r != 0)
        harness_fail(__FILE__, __LINE__, "import: %d %s\n%s", r, f.err, f.log);
    CHECK_EQ(r, 0);
    CHECK(has_env(&img, "HEARTH_OCI_TEST=1"));
    tpl_oci_image_free(&img);
out:
    fx_stop(&f);
}

/* hearth-agent as init on a foreign image: boot the imported ext4 and read the marker. */
TEST_SLOW(imported_image_boots_with_the_agent, 400)
{
    char kernel[PATH_MAX], rootfs[PATH_MAX];
    vmtest_paths(kernel, rootfs);
    struct fx f;
    if (!fx_start(&f, NULL))
        goto out;
    char ref[128];
    if (!fx_image(&f, "test/busybox:1", ref, sizeof(ref), NULL))
        goto out;
    struct tpl_oci_image img;
    int r = import(&f, ref, &img);
    CHECK_EQ(r, 0);
    struct vmtest_config cfg = vmtest_config(kernel, img.image);
    struct vmt *vm = vmtest_start(&cfg);
    CHECK(vm);
    struct agent_exec_result res;
    CHECK_EQ(vmtest_sh(vm, "cat /etc/hearth-oci-test; cat /etc/hostname; test -x /sbin/resize2fs "
                           "&& echo resize2fs",
                       NULL, &res), 0);
    CHECK_EQ(res.exit_code, 0);
    CHECK_STR((char *)res.out, "hearth oci test image\nsandbox\nresize2fs\n");
    agent_exec_result_release(&res);
    /* the resize2fs hearth added runs on the image (its libs came along) */
    CHECK_EQ(vmtest_sh(vm, "resize2fs /dev/vda 2>&1; echo rc=$?", NULL, &res), 0);
    CHECK(strstr((char *)res.out, "rc=0"));
    agent_exec_result_release(&res);
    vmtest_free(vm);
    tpl_oci_image_free(&img);
out:
    fx_stop(&f);
}
