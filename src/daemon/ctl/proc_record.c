/* SPDX-License-Identifier: MIT */
/* proc_record.c: the agent's process records turned into ManagedProcess views
 * (proc_record.h). Pure; fuzzed by tests/fuzz/fuzz_proc_record.c. */
#include "daemon/ctl/proc_record.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/timefmt.h"

#define PROC_ID_SIZE 64

static const struct {
    int sig;
    const char *name;
} signals[] = {
    { SIGHUP, "SIGHUP" },   { SIGINT, "SIGINT" },   { SIGQUIT, "SIGQUIT" },
    { SIGKILL, "SIGKILL" }, { SIGTERM, "SIGTERM" }, { SIGUSR1, "SIGUSR1" },
    { SIGUSR2, "SIGUSR2" }, { SIGWINCH, "SIGWINCH" },
};

int ctl_process_signal_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
        if (strcmp(signals[i].name, name) == 0)
            return signals[i].sig;
    return 0;
}

const char *ctl_process_signal_name(int sig)
{
    static char names[65][16];
    if (sig <= 0 || sig > 64)
        return NULL;
    if (!names[sig][0]) {
        const char *abbrev = sigabbrev_np(sig);
        if (!abbrev)
            return NULL;
        snprintf(names[sig], sizeof(names[sig]), "SIG%s", abbrev);
    }
    return names[sig];
}

bool ctl_proc_str_field(json_t *rec, const char *key, size_t max, const char **ret)
{
    json_t *v = json_object_get(rec, key);
    if (!json_is_string(v) || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v))
        return false;
    *ret = json_string_value(v);
    return true;
}

bool ctl_proc_int_field(json_t *rec, const char *key, json_int_t lo, json_int_t hi,
                      json_int_t *ret)
{
    json_t *v = json_object_get(rec, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return false;
    *ret = json_integer_value(v);
    return true;
}

static json_t *str_array(json_t *a)
{
    if (!json_is_array(a) || json_array_size(a) > 65536)
        return NULL;
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (!json_is_string(v) || json_array_append(out, v) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static bool set_time(json_t *view, const char *key, json_int_t ms)
{
    char ts[TIMEFMT_RFC3339_LEN + 1];
    return ms > 0 && timefmt_rfc3339_ms(ms, ts) == 0 &&
           json_object_set_new(view, key, json_string(ts)) == 0;
}

json_t *ctl_proc_record_view(json_t *rec)
{
    static const char *const states[] = { "starting", "running", "terminating", "exited",
                                          "failed" };
    const char *pid_s, *kind, *state, *cmd, *cwd;
    json_int_t pid, created, oldest, newest, bytes;
    json_t *out = json_object_get(rec, "output");
    json_t *le = json_object_get(rec, "leader_exited"), *te = json_object_get(rec, "tree_exited");
    if (!ctl_proc_str_field(rec, "process_id", PROC_ID_SIZE - 1, &pid_s) ||
        !ctl_proc_str_field(rec, "kind", 16, &kind) || !ctl_proc_str_field(rec, "state", 16, &state) ||
        !ctl_proc_str_field(rec, "cmd", 65536, &cmd) || !ctl_proc_str_field(rec, "cwd", 65536, &cwd) ||
        !ctl_proc_int_field(rec, "pid", 0, INT32_MAX, &pid) ||
        !ctl_proc_int_field(rec, "created_ms", 0, INT64_MAX, &created) || !json_is_boolean(le) ||
        !json_is_boolean(te) || !json_is_object(out) ||
        !ctl_proc_int_field(out, "oldest_seq", 0, INT64_MAX, &oldest) ||
        !ctl_proc_int_field(out, "newest_seq", 0, INT64_MAX, &newest) ||
        !ctl_proc_int_field(out, "bytes", 0, INT64_MAX, &bytes))
        return NULL;
    if (strcmp(kind, "process") != 0 && strcmp(kind, "pty") != 0)
        return NULL;
    bool known = false;
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]) && !known; i++)
        known = strcmp(states[i], state) == 0;
    if (!known)
        return NULL;
    /* a list's short form leaves long args out (args_truncated): shown as [] */
    json_t *args = !json_object_get(rec, "args") &&
                           json_is_true(json_object_get(rec, "args_truncated"))
                       ? json_array()
                       : str_array(json_object_get(rec, "args"));
    if (!args)
        return NULL;
    json_t *v = json_pack("{s:s,s:s,s:I,s:s,s:b,s:b,s:s,s:o,s:s}", "process_id", pid_s, "kind",
                          kind, "pid", pid, "state", state, "leader_exited", json_is_true(le),
                          "tree_exited", json_is_true(te), "cmd", cmd, "args", args, "cwd", cwd);
    if (!v || !set_time(v, "created_at", created))
        goto bad;
    json_int_t n;
    if (json_is_true(le)) {
        if (ctl_proc_int_field(rec, "finished_ms", 1, INT64_MAX, &n) && !set_time(v, "finished_at", n))
            goto bad;
        if (ctl_proc_int_field(rec, "exit_code", -1, 255, &n))
            json_object_set_new(v, "exit_code", json_integer(n));
        const char *name;
        if (ctl_proc_int_field(rec, "signal", 1, 64, &n) && (name = ctl_process_signal_name((int)n)))
            json_object_set_new(v, "signal", json_string(name));
    }
    json_t *fg = json_object_get(rec, "foreground");
    const char *fcmd;
    json_t *fargs;
    if (strcmp(kind, "pty") == 0 && !json_is_true(le) && json_is_object(fg) &&
        ctl_proc_int_field(fg, "pid", 0, INT32_MAX, &n) && ctl_proc_str_field(fg, "cmd", 65536, &fcmd) &&
        (fargs = json_object_get(fg, "args") ? str_array(json_object_get(fg, "args"))
                                             : json_array()))
        json_object_set_new(v, "foreground",
                            json_pack("{s:I,s:s,s:o}", "pid", n, "cmd", fcmd, "args", fargs));
    json_object_set_new(v, "output", json_pack("{s:I,s:I,s:I}", "oldest_seq", oldest,
                                               "newest_seq", newest, "bytes", bytes));
    return v;
bad:
    json_decref(v);
    return NULL;
}

json_t *ctl_proc_answer_view(enum ctl_proc_view kind, const char *text)
{
    json_t *j = json_loads(text ? text : "", 0, NULL);
    json_t *v = NULL;
    if (!json_is_object(j))
        goto out;
    if (kind == CTL_PROC_VIEW_RECORD) {
        v = ctl_proc_record_view(j);
    } else if (kind == CTL_PROC_VIEW_INPUT) {
        json_int_t n;
        if (ctl_proc_int_field(j, "input_seq", 0, INT64_MAX, &n))
            v = json_pack("{s:I}", "input_seq", n);
    } else {
        json_t *list = json_object_get(j, "processes"), *rec;
        size_t i;
        if (!json_is_array(list) || json_array_size(list) > 1024)
            goto out;
        json_t *arr = json_array();
        json_array_foreach(list, i, rec) {
            json_t *one = ctl_proc_record_view(rec);
            if (!one || json_array_append_new(arr, one) < 0) {
                json_decref(arr);
                goto out;
            }
        }
        v = json_pack("{s:o}", "processes", arr);
    }
out:
    json_decref(j);
    return v;
}

