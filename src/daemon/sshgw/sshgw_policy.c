/* SPDX-License-Identifier: MIT */
/* sshgw_policy.c: the gateway's pure checks (sshgw_policy.h): login names, -L destinations,
 * env requests, signal names, key comparison. Owns no state and touches nothing outside its
 * arguments. */
#include "daemon/sshgw/sshgw_policy.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/sbname.h"
#include "daemon/store/ids.h"

enum sshgw_login_kind sshgw_login_parse(const char *user, char out[SSHGW_LOGIN_SIZE])
{
    if (!user || !user[0])
        return SSHGW_LOGIN_BAD;
    size_t len = strlen(user);
    if (len > 3 && strncasecmp(user, IDS_SANDBOX_PREFIX, 3) == 0 && len == IDS_SANDBOX_LEN) {
        char buf[IDS_SANDBOX_LEN + 1]; /* the prefix lowercased: ids_canonical() wants it so */
        memcpy(buf, IDS_SANDBOX_PREFIX, 3);
        memcpy(buf + 3, user + 3, len - 3);
        buf[len] = '\0';
        if (ids_canonical(IDS_SANDBOX_PREFIX, buf, len, out, SSHGW_LOGIN_SIZE) == 0)
            return SSHGW_LOGIN_ID;
    }
    if (len < STORE_NAME_SIZE && sbname_valid(user, len)) {
        memcpy(out, user, len + 1);
        return SSHGW_LOGIN_NAME;
    }
    return SSHGW_LOGIN_BAD;
}

bool sshgw_dest_allowed(const char *host, const char *name, const char *id,
                        const char *hostname)
{
    static const char *const local[] = { "localhost", "127.0.0.1", "::1", "[::1]" };
    if (!host || !host[0])
        return false;
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
        if (strcasecmp(host, local[i]) == 0)
            return true;
    const char *own[] = { name, id, hostname };
    for (size_t i = 0; i < 3; i++)
        if (own[i] && own[i][0] && strcasecmp(host, own[i]) == 0)
            return true;
    return false;
}

bool sshgw_env_allowed(const char *name, const char *value)
{
    if (!name || !value)
        return false;
    bool ok = strcmp(name, "LANG") == 0 || strcmp(name, "LANGUAGE") == 0 ||
              strcmp(name, "LC_ALL") == 0;
    if (!ok && strncmp(name, "LC_", 3) == 0 && name[3]) {
        ok = strlen(name) <= 32;
        for (const char *p = name + 3; ok && *p; p++)
            ok = (*p >= 'A' && *p <= 'Z') || *p == '_';
    }
    if (!ok || strlen(value) > 256)
        return false;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return false;
    return true;
}

/* RFC 4254 §6.10's names; the numbers are Linux's (the guest's). */
static const struct {
    const char *name;
    int sig;
} signals[] = {
    { "ABRT", SIGABRT }, { "ALRM", SIGALRM }, { "FPE", SIGFPE },   { "HUP", SIGHUP },
    { "ILL", SIGILL },   { "INT", SIGINT },   { "KILL", SIGKILL }, { "PIPE", SIGPIPE },
    { "QUIT", SIGQUIT }, { "SEGV", SIGSEGV }, { "TERM", SIGTERM }, { "USR1", SIGUSR1 },
    { "USR2", SIGUSR2 },
};

int sshgw_signal_number(const char *name)
{
    for (size_t i = 0; name && i < sizeof(signals) / sizeof(signals[0]); i++)
        if (strcmp(name, signals[i].name) == 0)
            return signals[i].sig;
    return -1;
}

const char *sshgw_signal_name(int sig)
{
    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
        if (signals[i].sig == sig)
            return signals[i].name;
    return NULL;
}

bool sshgw_key_matches(const char *stored, const char *type, const char *b64)
{
    if (!stored || !type || !b64 || !type[0] || !b64[0])
        return false;
    size_t tl = strlen(type), bl = strlen(b64);
    return strncmp(stored, type, tl) == 0 && stored[tl] == ' ' &&
           strncmp(stored + tl + 1, b64, bl) == 0 &&
           (stored[tl + 1 + bl] == '\0' || stored[tl + 1 + bl] == ' ');
}
