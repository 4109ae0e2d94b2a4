/* SPDX-License-Identifier: MIT */
/* hello.c: the smallest libhearth program: create a sandbox, run `echo hi`, destroy it.
 * Build: make examples. Run: HEARTH_API_URL=http://127.0.0.1:8080 HEARTH_API_KEY=hk_…
 * build/examples/hello */
#include <hearth/hearth.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, const struct hearth_error *e)
{
    fprintf(stderr, "hello: %s: %s (HTTP %d %s)\n", what, e->message, e->http_status,
            e->api_code);
    return 1;
}

int main(void)
{
    const char *url = getenv("HEARTH_API_URL");
    hearth_client *c = hearth_client_new(url ? url : "http://127.0.0.1:8080",
                                         getenv("HEARTH_API_KEY"));
    if (!c) {
        fputs("hello: bad HEARTH_API_URL\n", stderr);
        return 1;
    }
    struct hearth_error e;
    int status = 1;
    hearth_obj *sb = NULL, *res = NULL;
    hearth_body *spec = hearth_body_new(), *cmd = hearth_body_new();
    if (!spec || !cmd || hearth_body_set_str(spec, "shape", "s-1vcpu-1gb") != HEARTH_OK ||
        hearth_body_set_str(cmd, "cmd", "echo") != HEARTH_OK ||
        hearth_body_append_str(cmd, "args", "hi") != HEARTH_OK)
        goto out;

    if (hearth_sandbox_create(c, spec, &sb, &e) != HEARTH_OK) {
        status = fail("create", &e);
        goto out;
    }
    const char *id = hearth_obj_str(sb, "id");
    printf("created %s\n", id);
    if (hearth_exec(c, id, cmd, &res, &e) != HEARTH_OK) {
        status = fail("exec", &e);
    } else {
        printf("stdout: %s", hearth_obj_str(res, "result.stdout"));
        printf("exit code: %lld\n", (long long)hearth_obj_int(res, "result.exit_code", -1));
        status = 0;
    }
    if (hearth_sandbox_delete(c, id, NULL, &e) != HEARTH_OK)
        status = fail("delete", &e);
    else
        printf("destroyed %s\n", id);
out:
    hearth_obj_free(res);
    hearth_obj_free(sb);
    hearth_body_free(spec);
    hearth_body_free(cmd);
    hearth_client_free(c);
    return status;
}
