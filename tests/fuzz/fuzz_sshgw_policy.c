/* SPDX-License-Identifier: MIT */
/* fuzz_sshgw_policy.c: libFuzzer driver for the SSH gateway's checks of client-chosen strings
 * (src/daemon/sshgw/sshgw_policy.c): the login name, a -L destination host, env requests,
 * signal names and the stored-key comparison. Each input line is tried as each. Invariants: an
 * id login comes back canonical (`sb-` + 26 uppercase characters), a name login unchanged; an
 * accepted env value is printable and short; a stored key always matches its own type and data.
 * Run: make fuzz FUZZ_TARGETS=sshgw_policy (docs/testing.md "Fuzzing"). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/sshgw/sshgw_policy.h"

static void one(const char *s)
{
    char out[SSHGW_LOGIN_SIZE];
    enum sshgw_login_kind k = sshgw_login_parse(s, out);
    if (k == SSHGW_LOGIN_ID) {
        if (strlen(out) != 29 || strncmp(out, "sb-", 3) != 0)
            abort();
        for (const char *p = out + 3; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                abort();
    } else if (k == SSHGW_LOGIN_NAME && strcmp(out, s) != 0) {
        abort();
    }
    (void)sshgw_dest_allowed(s, s, s, s);
    if (sshgw_dest_allowed(s, s, NULL, NULL) != (s[0] != 0)) /* its own name is the sandbox */
        abort();
    if (sshgw_env_allowed("LANG", s)) {
        if (strlen(s) > 256)
            abort();
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
            if (*p < 0x20 || *p > 0x7e)
                abort();
    }
    (void)sshgw_env_allowed(s, "C");
    int sig = sshgw_signal_number(s);
    if (sig > 0 && strcmp(sshgw_signal_name(sig), s) != 0)
        abort();
    if (s[0] && !strchr(s, ' ')) {
        char stored[4200];
        snprintf(stored, sizeof(stored), "ssh-ed25519 %s comment", s);
        if (strlen(s) < 4000 && !sshgw_key_matches(stored, "ssh-ed25519", s))
            abort();
    }
    (void)sshgw_key_matches(s, "ssh-rsa", "AAAA");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (char *line = buf, *nl; line; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = '\0';
        one(line);
    }
    free(buf);
    return 0;
}
