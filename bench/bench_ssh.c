/* SPDX-License-Identifier: MIT */
/* bench_ssh.c: hearthd's SSH gateway (docs/ingress-ssh.md "SSH gateway") with the real OpenSSH
 * client against a real `hearthd serve` this program starts (images from $HEARTH_IMAGES, the
 * binary from $HEARTH_BIN or build/bin), on one minimal sandbox. Prints medians and p90s;
 * asserts nothing.
 *
 * - login to the first shell prompt: `ssh -tt` under a pseudo-terminal until the prompt shows
 *   (key exchange, key login, the wake check, the agent's PTY shell), BENCH_SSH_LOGINS (20);
 * - `ssh host true`: a whole exec round trip with its exit status;
 * - -L forwarding throughput guest -> host (cat /dev/zero) and host -> guest (into dd
 *   of=/dev/null), BENCH_SSH_MIB (default 256) each, 3 runs: compare with the tunnel numbers of
 *   docs/interactive.md (bench_interactive). */
#include "apiclient.h"
#include "benchio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/mono.h"

#define THROUGHPUT_RUNS 3

static char g_key[128], g_id[STORE_ID_SIZE], g_sshport[8], g_kh[256], g_idfile[256];

static double ms_since(int64_t t0_us)
{
    return (double)(mono_now_us() - t0_us) / 1000.0;
}

/* argv for ssh with the common options, then extra (NULL-terminated), then user@host, cmd. */
static void ssh_argv(const char **a, const char *const *extra, const char *cmd)
{
    static char target[128];
    snprintf(target, sizeof(target), "%s@127.0.0.1", g_id);
    size_t n = 0;
    static const char *const common[] = { "ssh", "-o", "BatchMode=yes", "-o",
                                          "GlobalKnownHostsFile=/dev/null", "-o",
                                          "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-o",
                                          "HostKeyAlgorithms=ssh-ed25519", NULL };
    for (size_t i = 0; common[i]; i++)
        a[n++] = common[i];
    static char khopt[300];
    snprintf(khopt, sizeof(khopt), "UserKnownHostsFile=%s", g_kh);
    a[n++] = "-o";
    a[n++] = khopt;
    a[n++] = "-p";
    a[n++] = g_sshport;
    a[n++] = "-i";
    a[n++] = g_idfile;
    for (size_t i = 0; extra && extra[i]; i++)
        a[n++] = extra[i];
    a[n++] = target;
    if (cmd)
        a[n++] = cmd;
    a[n] = NULL;
}

static pid_t spawn(const char *const *argv, bool quiet)
{
    pid_t p = fork();
    if (p == 0) {
        if (quiet) {
            int nul = open("/dev/null", O_RDWR);
            dup2(nul, 0);
            dup2(nul, 1);
        }
        execvp(argv[0], (char **)argv);
        _exit(127);
    }
    return p;
}

static int run_wait(const char *const *argv)
{
    pid_t p = spawn(argv, true);
    int st = 0;
    if (p < 0 || waitpid(p, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Until buf holds needle or timeout_ms passed; false on EOF or the timeout. */
static bool pty_wait(int fd, const char *needle, int timeout_ms)
{
    char buf[8192];
    size_t have = 0;
    int64_t end = mono_now_us() + (int64_t)timeout_ms * 1000;
    while (mono_now_us() < end) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
        if (n <= 0)
            return false;
        have += (size_t)n;
        buf[have] = '\0';
        if (strstr(buf, needle))
            return true;
        if (have > sizeof(buf) / 2) { /* keep the tail */
            memmove(buf, buf + have - 64, 64);
            have = 64;
        }
    }
    return false;
}

static void bench_login(int runs)
{
    double v[64];
    int n = 0;
    const char *a[48];
    const char *const tt[] = { "-tt", NULL };
    ssh_argv(a, tt, NULL);
    for (int i = 0; i < runs && i < 64; i++) {
        int fd;
        int64_t t0 = mono_now_us();
        pid_t p = forkpty(&fd, NULL, NULL, NULL);
        if (p == 0) {
            execvp(a[0], (char **)a);
            _exit(127);
        }
        if (p < 0)
            break;
        bool ok = pty_wait(fd, "# ", 30000); /* root's prompt */
        if (ok)
            v[n++] = ms_since(t0);
        (void)write(fd, "exit\r", 5);
        (void)pty_wait(fd, "\x01never", 2000);
        kill(p, SIGTERM);
        waitpid(p, NULL, 0);
        close(fd);
    }
    bench_report("ssh login to the first shell prompt", v, n, "ms", NULL);
    n = 0;
    ssh_argv(a, NULL, "true");
    for (int i = 0; i < runs && i < 64; i++) {
        int64_t t0 = mono_now_us();
        if (run_wait(a) != 0)
            break;
        v[n++] = ms_since(t0);
    }
    bench_report("ssh host true (login, exec, exit status)", v, n, "ms", NULL);
}

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof(sa);
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &l) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int connect_port(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

static void bench_forward(size_t mib)
{
    size_t total = mib << 20;
    uint16_t lp = free_port();
    char spec[2][64];
    snprintf(spec[0], sizeof(spec[0]), "%u:localhost:7001", (unsigned)lp);
    snprintf(spec[1], sizeof(spec[1]), "%u:localhost:7003", (unsigned)(lp + 1));
    const char *const extra[] = { "-N", "-o", "ExitOnForwardFailure=yes", "-L", spec[0], "-L",
                                  spec[1], NULL };
    const char *a[48];
    ssh_argv(a, extra, NULL);
    pid_t p = spawn(a, true);
    int fd = -1;
    for (int i = 0; i < 100 && fd < 0; i++) {
        fd = connect_port(lp);
        if (fd < 0)
            usleep(100000);
    }
    if (fd >= 0)
        close(fd);
    double down[THROUGHPUT_RUNS], up[THROUGHPUT_RUNS], secs;
    int nd = 0, nu = 0;
    size_t bytes;
    for (int r = 0; r < THROUGHPUT_RUNS; r++) {
        if ((fd = connect_port(lp)) < 0)
            break;
        double mbps = bench_read_mbps(fd, total, &bytes, &secs);
        close(fd);
        if (bytes >= total)
            down[nd++] = mbps;
        if ((fd = connect_port((uint16_t)(lp + 1))) < 0)
            break;
        mbps = bench_write_mbps(fd, total, &bytes, &secs); /* the sink closes after dd's EOF */
        close(fd);
        if (bytes >= total)
            up[nu++] = mbps;
    }
    kill(p, SIGTERM);
    waitpid(p, NULL, 0);
    char what[96];
    snprintf(what, sizeof(what), "-L throughput guest -> host (%zu MiB)", mib);
    bench_report(what, down, nd, "MB/s", NULL);
    snprintf(what, sizeof(what), "-L throughput host -> guest (%zu MiB)", mib);
    bench_report(what, up, nu, "MB/s", NULL);
}

static bool read_file_line(const char *path, char *out, size_t max)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    bool ok = fgets(out, (int)max, f) != NULL;
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return ok && out[0];
}

int main(void)
{
    struct daemon d = { .pid = -1 };
    bool failed;
    if (!daemon_start_vm_bench(&d, "bench_ssh",
                               "golden_snapshots = off\nssh_listen = 127.0.0.1:0\n", g_key,
                               sizeof(g_key), &failed))
        return failed ? 1 : 0;
    char path[512], hostkey[512], pub[512];
    snprintf(path, sizeof(path), "%s/ssh.port", d.data);
    for (int i = 0; i < 50 && !read_file_line(path, g_sshport, sizeof(g_sshport)); i++)
        usleep(100000);
    snprintf(path, sizeof(path), "%s/ssh/ssh_host_ed25519_key.pub", d.data);
    snprintf(g_kh, sizeof(g_kh), "%s/known_hosts", d.dir);
    snprintf(g_idfile, sizeof(g_idfile), "%s/id", d.dir);
    FILE *kh = fopen(g_kh, "we");
    if (!g_sshport[0] || !read_file_line(path, hostkey, sizeof(hostkey)) || !kh) {
        printf("bench_ssh: the gateway did not start\n");
        if (kh)
            fclose(kh);
        daemon_stop(&d);
        return 1;
    }
    fprintf(kh, "[127.0.0.1]:%s %s\n", g_sshport, hostkey);
    fclose(kh);
    const char *const keygen[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                                   g_idfile, NULL };
    snprintf(path, sizeof(path), "%s.pub", g_idfile);
    if (run_wait(keygen) != 0 || !read_file_line(path, pub, sizeof(pub))) {
        printf("bench_ssh: ssh-keygen failed\n");
        daemon_stop(&d);
        return 1;
    }
    char body[1024], why[256] = "";
    double ms;
    snprintf(body, sizeof(body),
             "{\"shape\":\"s-1vcpu-512mb\",\"rootfs\":\"minimal\",\"ssh_pubkeys\":[\"%s\"]}", pub);
    if (create_one(d.port, g_key, body, g_id, &ms, why, sizeof(why)) != 0) {
        printf("bench_ssh: no sandbox: %s\n", why);
        daemon_stop(&d);
        return 1;
    }
    const char *a[48];
    ssh_argv(a, NULL, "setsid nc -ll -p 7001 -e cat /dev/zero </dev/null >/dev/null 2>&1 & "
                      "setsid nc -ll -p 7003 -e dd of=/dev/null bs=65536 </dev/null >/dev/null "
                      "2>&1 & sleep 0.5");
    (void)run_wait(a);
    printf("bench_ssh: minimal sandbox, 1 vCPU, 512 MiB, OpenSSH client on 127.0.0.1\n");
    const char *logins = getenv("BENCH_SSH_LOGINS"), *mib = getenv("BENCH_SSH_MIB");
    bench_login(logins ? atoi(logins) : 20);
    bench_forward(mib ? strtoul(mib, NULL, 10) : 256);
    destroy_one(d.port, g_key, g_id);
    daemon_stop(&d);
    return 0;
}
