/* SPDX-License-Identifier: MIT */
/* test_sandboxes.c: sandbox rows: every field round-trips; reads are scoped to their owner;
 * names collide by hostname among live rows only; state changes are compare-and-set; destroyed
 * rows stay readable; SSH keys de-duplicate and cap; envs keep their values private. */
#include "fixture.h"

/* Opens a store with alice (f->key_id) and bob (bob_key). */
static bool open_two(struct fx *f, char bob_key[STORE_ID_SIZE])
{
    REQUIRE(fx_open(f, true));
    struct store_key k;
    char s[APIKEY_LEN + 1];
    REQUIRE(store_key_create(f->st, "bob", NULL, false, 1000, &k, s) == 0);
    memcpy(bob_key, k.id, STORE_ID_SIZE);
    return true;
}

TEST(sandbox_insert_get_round_trip)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f.key_id, "My_Box.one", 1772374029412LL);
    snprintf(sb.ip, sizeof(sb.ip), "10.77.0.2");
    sb.running_at = 1772374030000LL;
    sb.spawn_ms = 587.125;
    sb.ingress_enabled = true;
    snprintf(sb.forked_from, sizeof(sb.forked_from), "sb-01ARZ3NDEKTSV4RRFFQ69G5FAV");
    sb.auto_pause_after_seconds = 600;
    sb.start_paused = true;
    sb.bw_quota_bytes = 1LL << 40;
    sb.bw_used_bytes = 12345;
    sb.bw_ingress_bytes = (1LL << 53) - 1;
    sb.bw_capped = true;
    snprintf(sb.host_id, sizeof(sb.host_id), "node-1");
    sb.run_dir = "/var/lib/hearth/run/x";
    sb.qemu_pid = 4242;
    sb.qemu_start_time = 987654321;
    sb.target_state = STORE_RUNNING;
    sb.intent_started_at = 1772374029500LL;
    char *egress[] = { "api.example.com:443", "*.example.org" };
    sb.egress = (struct store_strv){ egress, 2 };
    char *keys[] = { "ssh-ed25519 AAAAC3Nza1 me@host", "ssh-rsa AAAAB3Nza2" };
    sb.ssh_pubkeys = (struct store_strv){ keys, 2 };
    struct store_env envs[] = {
        { "ZED", "last", 4 }, { "A_KEY", "secret value", 12 }, { "EMPTY", NULL, 0 },
    };
    CHECK_EQ(store_sandbox_insert(f.st, &sb, envs, 3), 0);

    struct store_sandbox g;
    CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &g), 0);
    CHECK_STR(g.id, sb.id);
    CHECK_STR(g.user_id, "alice");
    CHECK_STR(g.name, "My_Box.one");
    CHECK_STR(g.hostname, "my-box-one");
    CHECK_EQ(g.status, STORE_RUNNING);
    CHECK_STR(g.shape, "s-1vcpu-1gb");
    CHECK_EQ(g.vcpu, 1);
    CHECK_EQ(g.mem_mib, 1024);
    CHECK_EQ(g.disk_mib, 10240);
    CHECK_STR(g.rootfs, "devbox:1");
    CHECK_STR(g.region, "local");
    CHECK_STR(g.ip, "10.77.0.2");
    CHECK_EQ(g.created_at, 1772374029412LL);
    CHECK_EQ(g.running_at, 1772374030000LL);
    CHECK_EQ(g.paused_at, 0);
    CHECK_EQ(g.last_resumed_at, 0);
    CHECK_EQ(g.destroyed_at, 0);
    CHECK(g.spawn_ms == 587.125);
    CHECK(g.ingress_enabled);
    CHECK_STR(g.created_by, f.key_id);
    CHECK_STR(g.forked_from, "sb-01ARZ3NDEKTSV4RRFFQ69G5FAV");
    CHECK_EQ(g.auto_pause_after_seconds, 600);
    CHECK(g.start_paused);
    CHECK_EQ(g.bw_quota_bytes, 1LL << 40);
    CHECK_EQ(g.bw_used_bytes, 12345);
    CHECK_EQ(g.bw_ingress_bytes, (1LL << 53) - 1);
    CHECK(g.bw_capped);
    CHECK_STR(g.host_id, "node-1");
    CHECK_STR(g.run_dir, "/var/lib/hearth/run/x");
    CHECK_EQ(g.qemu_pid, 4242);
    CHECK_EQ(g.qemu_start_time, 987654321);
    CHECK_EQ(g.target_state, STORE_RUNNING);
    CHECK_EQ(g.intent_started_at, 1772374029500LL);
    CHECK_EQ(g.updated_at, 1772374029412LL);
    CHECK_EQ(g.egress.n, 2);
    CHECK_STR(g.egress.v[0], "api.example.com:443");
    CHECK_STR(g.egress.v[1], "*.example.org");
    CHECK_EQ(g.ssh_pubkeys.n, 2);
    CHECK_STR(g.ssh_pubkeys.v[0], "ssh-ed25519 AAAAC3Nza1 me@host");
    CHECK_EQ(g.env_keys.n, 3); /* names only, sorted */
    CHECK_STR(g.env_keys.v[0], "A_KEY");
    CHECK_STR(g.env_keys.v[1], "EMPTY");
    CHECK_STR(g.env_keys.v[2], "ZED");
    store_sandbox_release(&g);
    store_sandbox_release(&g); /* twice is harmless */

    /* defaults: absent optional fields read back as absent */
    struct store_sandbox plain;
    fx_sandbox(&plain, "alice", f.key_id, "plain", 5);
    CHECK_EQ(store_sandbox_insert(f.st, &plain, NULL, 0), 0);
    CHECK_EQ(store_sandbox_get(f.st, NULL, plain.id, &g), 0);
    CHECK_STR(g.ip, "");
    CHECK_STR(g.forked_from, "");
    CHECK(g.spawn_ms < 0);
    CHECK(g.run_dir == NULL);
    CHECK_EQ(g.target_state, STORE_STATE_NONE);
    CHECK_EQ(g.bw_quota_bytes, -1);
    CHECK_EQ(g.auto_pause_after_seconds, 0);
    CHECK_EQ(g.env_keys.n + g.egress.n + g.ssh_pubkeys.n, 0);
    store_sandbox_release(&g);

    struct store_env *ev;
    size_t en;
    CHECK_EQ(store_sandbox_envs_get(f.st, sb.id, &ev, &en), 0);
    CHECK_EQ(en, 3);
    CHECK_STR(ev[0].key, "A_KEY");
    CHECK_EQ(ev[0].value_len, 12);
    CHECK_STR(ev[0].value, "secret value");
    CHECK_EQ(ev[1].value_len, 0);
    CHECK_STR(ev[1].value, "");
    store_envs_free(ev, en);
    CHECK_EQ(store_sandbox_envs_get(f.st, plain.id, &ev, &en), 0);
    CHECK_EQ(en, 0);
    store_envs_free(ev, en);
    CHECK_EQ(store_sandbox_envs_get(f.st, "sb-nope", &ev, &en), -ENOENT);
    fx_close(&f);
}

TEST(sandbox_insert_rejects_bad_rows)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f.key_id, "ok", 5);
    struct store_sandbox bad = sb;
    bad.name[0] = '\0';
    CHECK_EQ(store_sandbox_insert(f.st, &bad, NULL, 0), -EINVAL);
    bad = sb;
    bad.status = STORE_STATE__COUNT;
    CHECK_EQ(store_sandbox_insert(f.st, &bad, NULL, 0), -EINVAL);
    bad = sb;
    bad.status = STORE_STATE_NONE;
    CHECK_EQ(store_sandbox_insert(f.st, &bad, NULL, 0), -EINVAL);
    bad = sb;
    bad.target_state = (enum store_state)77;
    CHECK_EQ(store_sandbox_insert(f.st, &bad, NULL, 0), -EINVAL);
    bad = sb;
    memset(bad.name, 'n', sizeof(bad.name)); /* no NUL: longer than the field */
    CHECK_EQ(store_sandbox_insert(f.st, &bad, NULL, 0), -ENAMETOOLONG);
    bad = sb;
    memset(bad.ip, '1', sizeof(bad.ip));
    CHECK_EQ(store_sandbox_insert(f.st, &bad, NULL, 0), -ENAMETOOLONG);
    bad = sb;
    snprintf(bad.user_id, sizeof(bad.user_id), "carol"); /* no such user */
    CHECK_EQ(store_sandbox_insert(f.st, &bad, NULL, 0), -ENOENT);
    bad = sb;
    snprintf(bad.created_by, sizeof(bad.created_by), "key_01ARZ3NDEKTSV4RRFFQ69G5FAV");
    CHECK_EQ(store_sandbox_insert(f.st, &bad, NULL, 0), -ENOENT);
    bad = sb;
    char *badkey[] = { "ssh-ed25519" };
    bad.ssh_pubkeys = (struct store_strv){ badkey, 1 };
    CHECK_EQ(store_sandbox_insert(f.st, &bad, NULL, 0), -EINVAL);
    struct store_env dup[] = { { "A", "1", 1 }, { "A", "2", 1 } };
    CHECK_EQ(store_sandbox_insert(f.st, &sb, dup, 2), -EINVAL);
    struct store_env nokey[] = { { "", "1", 1 } };
    CHECK_EQ(store_sandbox_insert(f.st, &sb, nokey, 1), -EINVAL);
    CHECK_EQ(store_sandbox_insert(f.st, &sb, NULL, 1), -EINVAL);
    /* none of it left a trace, and the good row still goes in */
    struct store_sandbox g;
    CHECK_EQ(store_sandbox_get(f.st, NULL, sb.id, &g), -ENOENT);
    CHECK_EQ(store_sandbox_insert(f.st, &sb, NULL, 0), 0);
    CHECK_EQ(store_sandbox_insert(f.st, &sb, NULL, 0), -EEXIST); /* same id (and name) */
    CHECK_EQ(store_check(f.st), 0);
    fx_close(&f);
}

TEST(sandbox_ownership_scoping)
{
    struct fx f;
    char bob_key[STORE_ID_SIZE];
    if (!open_two(&f, bob_key))
        return;
    struct store_sandbox a;
    fx_sandbox(&a, "alice", f.key_id, "same-name", 100);
    snprintf(a.ip, sizeof(a.ip), "10.0.0.5");
    CHECK_EQ(store_sandbox_insert(f.st, &a, NULL, 0), 0);
    struct store_sandbox b;
    fx_sandbox(&b, "bob", bob_key, "same-name", 200); /* names are per user */
    snprintf(b.ip, sizeof(b.ip), "10.0.0.6");
    CHECK_EQ(store_sandbox_insert(f.st, &b, NULL, 0), 0);

    struct store_sandbox g;
    CHECK_EQ(store_sandbox_get(f.st, "alice", a.id, &g), 0);
    store_sandbox_release(&g);
    CHECK_EQ(store_sandbox_get(f.st, "bob", a.id, &g), -ENOENT);
    CHECK_EQ(store_sandbox_get(f.st, "bob", b.id, &g), 0);
    store_sandbox_release(&g);
    CHECK_EQ(store_sandbox_get(f.st, "alice", b.id, &g), -ENOENT);
    CHECK_EQ(store_sandbox_get(f.st, "", a.id, &g), -ENOENT);

    CHECK_EQ(store_sandbox_get_by_ip(f.st, "alice", "10.0.0.5", &g), 0);
    CHECK_STR(g.id, a.id);
    store_sandbox_release(&g);
    CHECK_EQ(store_sandbox_get_by_ip(f.st, "bob", "10.0.0.5", &g), -ENOENT);
    CHECK_EQ(store_sandbox_get_by_ip(f.st, "alice", "10.0.0.6", &g), -ENOENT);
    CHECK_EQ(store_sandbox_get_by_ip(f.st, "alice", "10.0.0.7", &g), -ENOENT);
    CHECK_EQ(store_sandbox_get_by_ip(f.st, NULL, "10.0.0.5", &g), -ENOENT);

    struct store_sandbox_page p;
    struct store_list_query q = { .user_id = "bob", .limit = 50 };
    CHECK_EQ(store_sandbox_list(f.st, &q, &p), 0);
    CHECK_EQ(p.total, 1);
    CHECK_EQ(p.count, 1);
    CHECK_STR(p.items[0].id, b.id);
    store_sandbox_page_release(&p);
    q.user_id = "carol";
    CHECK_EQ(store_sandbox_list(f.st, &q, &p), 0);
    CHECK_EQ(p.total, 0);
    CHECK_EQ(p.count, 0);
    store_sandbox_page_release(&p);

    /* updates, transitions and key adds through the wrong user touch nothing */
    struct store_sandbox_patch patch = { .fields = STORE_PATCH_INGRESS, .ingress_enabled = true };
    CHECK_EQ(store_sandbox_update(f.st, "bob", a.id, &patch), -ENOENT);
    const char *k[] = { "ssh-ed25519 AAAA" };
    size_t count;
    CHECK_EQ(store_sandbox_ssh_add(f.st, "bob", a.id, 0, k, 1, 1, &count), -ENOENT);
    CHECK_EQ(store_sandbox_get(f.st, "alice", a.id, &g), 0);
    CHECK(!g.ingress_enabled);
    CHECK_EQ(g.ssh_pubkeys.n, 0);
    store_sandbox_release(&g);

    uint64_t counts[STORE_STATE__COUNT];
    CHECK_EQ(store_sandbox_count(f.st, "alice", counts), 0);
    CHECK_EQ(counts[STORE_RUNNING], 1);
    CHECK_EQ(counts[STORE_PAUSED], 0);
    fx_close(&f);
}

TEST(sandbox_ip_is_unique_and_released)
{
    struct fx f;
    char bob_key[STORE_ID_SIZE];
    if (!open_two(&f, bob_key))
        return;
    struct store_sandbox a, b;
    fx_sandbox(&a, "alice", f.key_id, "a", 1);
    snprintf(a.ip, sizeof(a.ip), "10.0.0.9");
    CHECK_EQ(store_sandbox_insert(f.st, &a, NULL, 0), 0);
    fx_sandbox(&b, "bob", bob_key, "b", 2);
    snprintf(b.ip, sizeof(b.ip), "10.0.0.9");
    CHECK_EQ(store_sandbox_insert(f.st, &b, NULL, 0), -EADDRINUSE);
    b.ip[0] = '\0';
    CHECK_EQ(store_sandbox_insert(f.st, &b, NULL, 0), 0);
    struct store_sandbox_patch p = { .fields = STORE_PATCH_IP, .ip = "10.0.0.9" };
    CHECK_EQ(store_sandbox_update(f.st, "bob", b.id, &p), -EADDRINUSE);
    /* a destroyed sandbox gives its address back */
    struct store_transition t = { STORE_RUNNING, STORE_DESTROYING, STORE_DESTROYED, 0, 10 };
    CHECK_EQ(store_sandbox_transition(f.st, a.id, &t, NULL), 0);
    t = (struct store_transition){ STORE_DESTROYING, STORE_DESTROYED, STORE_STATE_NONE, 0, 11 };
    CHECK_EQ(store_sandbox_transition(f.st, a.id, &t, NULL), 0);
    CHECK_EQ(store_sandbox_update(f.st, "bob", b.id, &p), 0);
    struct store_sandbox g;
    CHECK_EQ(store_sandbox_get_by_ip(f.st, "bob", "10.0.0.9", &g), 0);
    CHECK_STR(g.id, b.id);
    store_sandbox_release(&g);
    fx_close(&f);
}

TEST(sandbox_name_collisions_only_among_live)
{
    struct fx f;
    char bob_key[STORE_ID_SIZE];
    if (!open_two(&f, bob_key))
        return;
    struct store_sandbox a, b;
    fx_sandbox(&a, "alice", f.key_id, "My_Box", 1);
    CHECK_EQ(store_sandbox_insert(f.st, &a, NULL, 0), 0);
    static const char *const clash[] = { "my-box", "MY.BOX", "my_box", "My-Box", "mY.bOx" };
    for (size_t i = 0; i < sizeof(clash) / sizeof(clash[0]); i++) {
        fx_sandbox(&b, "alice", f.key_id, clash[i], 2);
        CHECK_EQ(store_sandbox_insert(f.st, &b, NULL, 0), -EEXIST);
    }
    fx_sandbox(&b, "alice", f.key_id, "my-box2", 2);
    CHECK_EQ(store_sandbox_insert(f.st, &b, NULL, 0), 0);
    fx_sandbox(&b, "bob", bob_key, "my-box", 2); /* another user: fine */
    CHECK_EQ(store_sandbox_insert(f.st, &b, NULL, 0), 0);

    /* every non-terminal state holds the name; destroyed and failed free it */
    for (int s = 0; s < STORE_STATE__COUNT; s++) {
        struct store_sandbox c, d;
        char name[32];
        snprintf(name, sizeof(name), "state-%d", s);
        fx_sandbox(&c, "alice", f.key_id, name, 10 + s);
        c.status = (enum store_state)s;
        CHECK_EQ(store_sandbox_insert(f.st, &c, NULL, 0), 0);
        name[0] = 'S'; /* same hostname */
        fx_sandbox(&d, "alice", f.key_id, name, 30 + s);
        int want = store_state_is_terminal((enum store_state)s) ? 0 : -EEXIST;
        CHECK_EQ(store_sandbox_insert(f.st, &d, NULL, 0), want);
    }

    /* once destroyed, the name is free again, and the old row keeps it */
    struct store_transition t = { STORE_RUNNING, STORE_DESTROYING, STORE_DESTROYED, 0, 50 };
    CHECK_EQ(store_sandbox_transition(f.st, a.id, &t, NULL), 0);
    fx_sandbox(&b, "alice", f.key_id, "my-box", 60);
    CHECK_EQ(store_sandbox_insert(f.st, &b, NULL, 0), -EEXIST); /* destroying still holds it */
    t = (struct store_transition){ STORE_DESTROYING, STORE_DESTROYED, STORE_STATE_NONE, 0, 51 };
    CHECK_EQ(store_sandbox_transition(f.st, a.id, &t, NULL), 0);
    CHECK_EQ(store_sandbox_insert(f.st, &b, NULL, 0), 0);
    /* and a second one while the first is live again collides */
    struct store_sandbox c;
    fx_sandbox(&c, "alice", f.key_id, "MY_BOX", 61);
    CHECK_EQ(store_sandbox_insert(f.st, &c, NULL, 0), -EEXIST);
    struct store_sandbox g;
    CHECK_EQ(store_sandbox_get(f.st, "alice", a.id, &g), 0);
    CHECK_STR(g.name, "My_Box");
    CHECK_EQ(g.status, STORE_DESTROYED);
    store_sandbox_release(&g);
    fx_close(&f);
}

TEST(sandbox_transitions_are_compare_and_set)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f.key_id, "cas", 1000);
    sb.status = STORE_CREATING;
    sb.target_state = STORE_RUNNING;
    sb.intent_started_at = 1000;
    snprintf(sb.ip, sizeof(sb.ip), "10.1.0.2");
    CHECK_EQ(store_sandbox_insert(f.st, &sb, NULL, 0), 0);

    /* creating → running commits the create's intent and stamps running_at, spawn_ms */
    struct store_sandbox g;
    struct store_transition t = { STORE_CREATING, STORE_RUNNING, STORE_STATE_NONE, 0, 1800 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, &g), 0);
    CHECK_EQ(g.status, STORE_RUNNING);
    CHECK_EQ(g.target_state, STORE_STATE_NONE);
    CHECK_EQ(g.intent_started_at, 0);
    CHECK_EQ(g.running_at, 1800);
    CHECK(g.spawn_ms == 800);
    CHECK_EQ(g.updated_at, 1800);
    store_sandbox_release(&g);

    /* a stale expected state fails and changes nothing */
    t = (struct store_transition){ STORE_PAUSED, STORE_RESUMING, STORE_RUNNING, 0, 1900 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, &g), -ESTALE);
    CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &g), 0);
    CHECK_EQ(g.status, STORE_RUNNING);
    CHECK_EQ(g.updated_at, 1800);
    CHECK_EQ(g.target_state, STORE_STATE_NONE);
    store_sandbox_release(&g);

    /* pause: record the intent; a second racer with the same expectation loses */
    t = (struct store_transition){ STORE_RUNNING, STORE_PAUSING, STORE_PAUSED, 0, 2000 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, NULL), 0);
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, NULL), -ESTALE);
    CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &g), 0);
    CHECK_EQ(g.status, STORE_PAUSING);
    CHECK_EQ(g.target_state, STORE_PAUSED);
    CHECK_EQ(g.intent_started_at, 2000);
    store_sandbox_release(&g);

    /* with an intent pending, NO_PENDING refuses; a delete (no flag) overrides it */
    t = (struct store_transition){ STORE_PAUSING, STORE_RUNNING, STORE_STATE_NONE,
                                   STORE_TR_NO_PENDING, 2100 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, NULL), -EBUSY);
    t = (struct store_transition){ STORE_PAUSING, STORE_PAUSED, STORE_STATE_NONE, 0, 2500 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, &g), 0);
    CHECK_EQ(g.paused_at, 2500);
    CHECK_EQ(g.target_state, STORE_STATE_NONE);
    CHECK_STR(g.ip, "10.1.0.2"); /* kept while paused */
    store_sandbox_release(&g);

    /* resume stamps last_resumed_at; running_at and spawn_ms keep their first values */
    t = (struct store_transition){ STORE_PAUSED, STORE_RESUMING, STORE_RUNNING,
                                   STORE_TR_NO_PENDING, 3000 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, NULL), 0);
    t = (struct store_transition){ STORE_RESUMING, STORE_RUNNING, STORE_STATE_NONE, 0, 3300 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, &g), 0);
    CHECK_EQ(g.last_resumed_at, 3300);
    CHECK_EQ(g.running_at, 1800);
    CHECK(g.spawn_ms == 800);
    store_sandbox_release(&g);

    /* bad arguments */
    t = (struct store_transition){ STORE_RUNNING, STORE_STATE__COUNT, STORE_STATE_NONE, 0, 1 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, NULL), -EINVAL);
    t = (struct store_transition){ STORE_STATE_NONE, STORE_PAUSED, STORE_STATE_NONE, 0, 1 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, NULL), -EINVAL);
    t = (struct store_transition){ STORE_RUNNING, STORE_PAUSING, STORE_PAUSED, 0, 1 };
    CHECK_EQ(store_sandbox_transition(f.st, "sb-missing", &t, NULL), -ENOENT);
    CHECK_EQ(store_sandbox_transition(f.st, NULL, &t, NULL), -ENOENT);
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, NULL, NULL), -EINVAL);
    fx_close(&f);
}

TEST(sandbox_cas_between_two_handles)
{
    /* two handles on one file, as two hearthd processes would be: exactly one wins */
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store *other;
    char err[200];
    CHECK_EQ(store_open(f.path, &other, err, sizeof(err)), 0);
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f.key_id, "race", 1);
    CHECK_EQ(store_sandbox_insert(f.st, &sb, NULL, 0), 0);
    struct store_transition pause = { STORE_RUNNING, STORE_PAUSING, STORE_PAUSED, 0, 10 };
    struct store_transition del = { STORE_RUNNING, STORE_DESTROYING, STORE_DESTROYED, 0, 11 };
    CHECK_EQ(store_sandbox_transition(other, sb.id, &pause, NULL), 0);
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &del, NULL), -ESTALE);
    struct store_sandbox g;
    CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &g), 0);
    CHECK_EQ(g.status, STORE_PAUSING);
    store_sandbox_release(&g);
    store_close(other);
    fx_close(&f);
}

TEST(sandbox_destroyed_row_stays_readable)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f.key_id, "gone", 100);
    snprintf(sb.ip, sizeof(sb.ip), "10.2.0.2");
    char *eg[] = { "example.com" };
    sb.egress = (struct store_strv){ eg, 1 };
    CHECK_EQ(store_sandbox_insert(f.st, &sb, NULL, 0), 0);
    struct store_transition t = { STORE_RUNNING, STORE_DESTROYING, STORE_DESTROYED, 0, 200 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, NULL), 0);
    t = (struct store_transition){ STORE_DESTROYING, STORE_DESTROYED, STORE_STATE_NONE, 0, 300 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, NULL), 0);

    struct store_sandbox g;
    CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &g), 0);
    CHECK_EQ(g.status, STORE_DESTROYED);
    CHECK_EQ(g.destroyed_at, 300);
    CHECK_STR(g.ip, "");
    CHECK_STR(g.name, "gone");
    CHECK_EQ(g.egress.n, 1);
    store_sandbox_release(&g);
    CHECK_EQ(store_sandbox_get_by_ip(f.st, "alice", "10.2.0.2", &g), -ENOENT);

    struct store_sandbox_page p;
    struct store_list_query q = { .user_id = "alice", .limit = 10 };
    CHECK_EQ(store_sandbox_list(f.st, &q, &p), 0);
    CHECK_EQ(p.total, 1);
    CHECK_EQ(p.items[0].status, STORE_DESTROYED);
    store_sandbox_page_release(&p);
    q.status_mask = STORE_STATE_BIT(STORE_DESTROYED);
    CHECK_EQ(store_sandbox_list(f.st, &q, &p), 0);
    CHECK_EQ(p.total, 1);
    store_sandbox_page_release(&p);

    /* PATCH on a terminal row is refused when the caller says so */
    struct store_sandbox_patch patch = {
        .fields = STORE_PATCH_INGRESS,
        .allowed_states = STORE_STATES_CONFIGURABLE,
        .ingress_enabled = true,
    };
    CHECK_EQ(store_sandbox_update(f.st, "alice", sb.id, &patch), -ESTALE);
    const char *k[] = { "ssh-ed25519 AAAA" };
    size_t count = 99;
    unsigned ok_states = STORE_STATES_CONFIGURABLE;
    CHECK_EQ(store_sandbox_ssh_add(f.st, "alice", sb.id, ok_states, k, 1, 1, &count), -ESTALE);
    CHECK_EQ(count, 99);

    /* retention: purge removes it and its lists only after the cutoff */
    CHECK_EQ(store_sandbox_purge(f.st, 300), 0);
    CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &g), 0);
    store_sandbox_release(&g);
    CHECK_EQ(store_sandbox_purge(f.st, 301), 1);
    CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &g), -ENOENT);
    CHECK_EQ(store_check(f.st), 0);
    fx_close(&f);
}

TEST(sandbox_patch_fields)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f.key_id, "patchy", 100);
    sb.auto_pause_after_seconds = 120;
    char *eg[] = { "a.example", "b.example" };
    sb.egress = (struct store_strv){ eg, 2 };
    CHECK_EQ(store_sandbox_insert(f.st, &sb, NULL, 0), 0);
    const char *rules[] = { "c.example:443" };
    struct store_sandbox_patch p = {
        .fields = STORE_PATCH_INGRESS | STORE_PATCH_AUTO_PAUSE | STORE_PATCH_HOST |
                  STORE_PATCH_BW_COUNTERS | STORE_PATCH_EGRESS | STORE_PATCH_DISK |
                  STORE_PATCH_BW_QUOTA | STORE_PATCH_SPAWN_MS | STORE_PATCH_START_PAUSED,
        .allowed_states = STORE_STATES_CONFIGURABLE,
        .ingress_enabled = true,
        .auto_pause_after_seconds = 0,
        .host_id = "node-9",
        .run_dir = "/run/x; DROP TABLE sandboxes;--",
        .qemu_pid = 77,
        .qemu_start_time = 1234,
        .bw_used_bytes = 10,
        .bw_ingress_bytes = 20,
        .bw_capped = true,
        .bw_quota_bytes = 5000,
        .disk_mib = 20480,
        .spawn_ms = 12.5,
        .start_paused = true,
        .egress = rules,
        .n_egress = 1,
        .now_ms = 999,
    };
    CHECK_EQ(store_sandbox_update(f.st, "alice", sb.id, &p), 0);
    struct store_sandbox g;
    CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &g), 0);
    CHECK(g.ingress_enabled);
    CHECK_EQ(g.auto_pause_after_seconds, 0);
    CHECK_STR(g.host_id, "node-9");
    CHECK_STR(g.run_dir, "/run/x; DROP TABLE sandboxes;--");
    CHECK_EQ(g.qemu_pid, 77);
    CHECK_EQ(g.qemu_start_time, 1234);
    CHECK_EQ(g.bw_used_bytes, 10);
    CHECK_EQ(g.bw_ingress_bytes, 20);
    CHECK(g.bw_capped);
    CHECK_EQ(g.bw_quota_bytes, 5000);
    CHECK_EQ(g.disk_mib, 20480);
    CHECK(g.spawn_ms == 12.5);
    CHECK(g.start_paused);
    CHECK_EQ(g.updated_at, 999);
    CHECK_EQ(g.egress.n, 1);
    CHECK_STR(g.egress.v[0], "c.example:443");
    CHECK_EQ(g.status, STORE_RUNNING); /* untouched */
    CHECK_STR(g.name, "patchy");
    store_sandbox_release(&g);

    /* clearing host fields and the egress list */
    p = (struct store_sandbox_patch){ .fields = STORE_PATCH_HOST | STORE_PATCH_EGRESS,
                                      .now_ms = 1000 };
    CHECK_EQ(store_sandbox_update(f.st, NULL, sb.id, &p), 0);
    CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &g), 0);
    CHECK_STR(g.host_id, "");
    CHECK(g.run_dir == NULL);
    CHECK_EQ(g.qemu_pid, 0);
    CHECK_EQ(g.egress.n, 0);
    store_sandbox_release(&g);

    p = (struct store_sandbox_patch){ .fields = 0 };
    CHECK_EQ(store_sandbox_update(f.st, "alice", sb.id, &p), -EINVAL);
    p.fields = 1u << 30;
    CHECK_EQ(store_sandbox_update(f.st, "alice", sb.id, &p), -EINVAL);
    p.fields = STORE_PATCH_INGRESS;
    CHECK_EQ(store_sandbox_update(f.st, "alice", "sb-nope", &p), -ENOENT);
    p.fields = STORE_PATCH_EGRESS;
    p.n_egress = 1;
    CHECK_EQ(store_sandbox_update(f.st, "alice", sb.id, &p), -EINVAL);
    fx_close(&f);
}

TEST(sandbox_ssh_keys_dedupe_and_cap)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f.key_id, "keys", 1);
    char *initial[] = { "ssh-ed25519 AAAA1 first", "ssh-ed25519 AAAA1 same-key-other-comment" };
    sb.ssh_pubkeys = (struct store_strv){ initial, 2 };
    CHECK_EQ(store_sandbox_insert(f.st, &sb, NULL, 0), 0);
    size_t count = 0;
    const char *add[] = { "ssh-ed25519 AAAA2", "ssh-ed25519 AAAA1 again", "ssh-rsa AAAA1",
                          "ssh-ed25519 AAAA2 dup-in-batch" };
    CHECK_EQ(store_sandbox_ssh_add(f.st, "alice", sb.id, 0, add, 4, 5, &count), 0);
    CHECK_EQ(count, 3); /* AAAA1, AAAA2, and ssh-rsa AAAA1 (another type) */
    struct store_sandbox g;
    CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &g), 0);
    CHECK_EQ(g.ssh_pubkeys.n, 3);
    CHECK_STR(g.ssh_pubkeys.v[0], "ssh-ed25519 AAAA1 first"); /* the first copy wins */
    CHECK_STR(g.ssh_pubkeys.v[1], "ssh-ed25519 AAAA2");
    CHECK_STR(g.ssh_pubkeys.v[2], "ssh-rsa AAAA1");
    store_sandbox_release(&g);

    /* fill to exactly 64, then one more fails and adds nothing */
    char bufs[61][32];
    const char *more[61];
    for (int i = 0; i < 61; i++) {
        snprintf(bufs[i], sizeof(bufs[i]), "ssh-ed25519 KEY%d", i);
        more[i] = bufs[i];
    }
    CHECK_EQ(store_sandbox_ssh_add(f.st, "alice", sb.id, 0, more, 61, 6, &count), 0);
    CHECK_EQ(count, 64);
    CHECK_EQ(store_sandbox_ssh_add(f.st, "alice", sb.id, 0, more, 61, 6, &count), 0);
    CHECK_EQ(count, 64); /* all duplicates: fine */
    const char *one[] = { "ssh-ed25519 KEY-65", "ssh-ed25519 KEY0" };
    count = 7;
    CHECK_EQ(store_sandbox_ssh_add(f.st, "alice", sb.id, 0, one, 2, 7, &count), -E2BIG);
    CHECK_EQ(count, 7);
    CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &g), 0);
    CHECK_EQ(g.ssh_pubkeys.n, 64);
    store_sandbox_release(&g);

    /* a batch that would pass 64 on its own is refused as a whole */
    struct store_sandbox sb2;
    fx_sandbox(&sb2, "alice", f.key_id, "keys2", 2);
    CHECK_EQ(store_sandbox_insert(f.st, &sb2, NULL, 0), 0);
    char big[65][32];
    const char *bigp[65];
    for (int i = 0; i < 65; i++) {
        snprintf(big[i], sizeof(big[i]), "ssh-ed25519 B%d", i);
        bigp[i] = big[i];
    }
    CHECK_EQ(store_sandbox_ssh_add(f.st, "alice", sb2.id, 0, bigp, 65, 8, &count), -E2BIG);
    CHECK_EQ(store_sandbox_ssh_add(f.st, "alice", sb2.id, 0, bigp, 64, 8, &count), 0);
    CHECK_EQ(count, 64);
    /* the same 65 at insert time are refused too */
    struct store_sandbox sb3;
    fx_sandbox(&sb3, "alice", f.key_id, "keys3", 3);
    char *bigv[65];
    for (int i = 0; i < 65; i++)
        bigv[i] = big[i];
    sb3.ssh_pubkeys = (struct store_strv){ bigv, 65 };
    CHECK_EQ(store_sandbox_insert(f.st, &sb3, NULL, 0), -E2BIG);
    CHECK_EQ(store_sandbox_get(f.st, NULL, sb3.id, &g), -ENOENT);

    static const char *const malformed[] = { "", "ssh-ed25519", "ssh-ed25519 ", " AAAA",
                                             "ssh-ed25519  AAAA" };
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        const char *m[] = { malformed[i] };
        CHECK_EQ(store_sandbox_ssh_add(f.st, "alice", sb2.id, 0, m, 1, 9, &count), -EINVAL);
    }
    const char *nullkey[] = { NULL };
    CHECK_EQ(store_sandbox_ssh_add(f.st, "alice", sb2.id, 0, nullkey, 1, 9, &count), -EINVAL);
    fx_close(&f);
}

TEST(sandbox_hostile_inputs_stored_verbatim)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    static const char *const names[] = {
        "x'; DROP TABLE sandboxes; --",
        "\" OR 1=1 --",
        "%_%",
        "a\\b",
        "Robert'); DELETE FROM users;--",
        "\xf0\x9f\x92\xa9 \xe2\x80\xae",         /* emoji, right-to-left override */
        "\xff\xfe invalid utf-8",
        "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", /* 63: the most */
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct store_sandbox sb;
        fx_sandbox(&sb, "alice", f.key_id, names[i], (int64_t)i);
        CHECK_EQ(strlen(sb.name), strlen(names[i]));
        static const char value[] = "v'); DROP TABLE sandbox_envs;--\0after-nul\xff";
        struct store_env env = { "K", value, sizeof(value) - 1 };
        if (f.pg && strstr(names[i], "invalid utf-8")) {
            /* PostgreSQL's text is UTF-8 only: refused whole, nothing stored (the API never
             * passes such a name: JSON strings are UTF-8) */
            CHECK_EQ(store_sandbox_insert(f.st, &sb, &env, 1), -EINVAL);
            sb.name[0] = 'x';
            sb.name[1] = 'x';
            CHECK_EQ(store_sandbox_insert(f.st, &sb, &env, 1), 0);
            continue;
        }
        CHECK_EQ(store_sandbox_insert(f.st, &sb, &env, 1), 0);
        struct store_sandbox g;
        CHECK_EQ(store_sandbox_get(f.st, "alice", sb.id, &g), 0);
        CHECK_STR(g.name, names[i]);
        store_sandbox_release(&g);
        struct store_env *ev;
        size_t n;
        CHECK_EQ(store_sandbox_envs_get(f.st, sb.id, &ev, &n), 0);
        CHECK_EQ(n, 1);
        CHECK_EQ(ev[0].value_len, sizeof(value) - 1);
        CHECK(memcmp(ev[0].value, value, sizeof(value) - 1) == 0); /* the NUL and all after it */
        store_envs_free(ev, n);
    }
    /* ids, users and addresses far longer than any field just find nothing */
    static char huge[1 << 16];
    memset(huge, 'A', sizeof(huge) - 1);
    struct store_sandbox g;
    CHECK_EQ(store_sandbox_get(f.st, "alice", huge, &g), -ENOENT);
    CHECK_EQ(store_sandbox_get(f.st, huge, "sb-x", &g), -ENOENT);
    CHECK_EQ(store_sandbox_get_by_ip(f.st, "alice", huge, &g), -ENOENT);
    CHECK_EQ(store_sandbox_get(f.st, "alice", "' OR '1'='1", &g), -ENOENT);
    CHECK_EQ(store_sandbox_get(f.st, "' OR '1'='1", "' OR '1'='1", &g), -ENOENT);
    CHECK_EQ(store_sandbox_get(f.st, "alice", "", &g), -ENOENT);
    CHECK_EQ(store_sandbox_get(f.st, "alice", NULL, &g), -ENOENT);
    CHECK_EQ(store_key_revoke(f.st, huge, 1), -ENOENT);
    struct store_sandbox_page p;
    struct store_list_query q = { .user_id = huge, .limit = 10 };
    CHECK_EQ(store_sandbox_list(f.st, &q, &p), 0);
    CHECK_EQ(p.total, 0);
    q.user_id = "alice";
    CHECK_EQ(store_sandbox_list(f.st, &q, &p), 0);
    CHECK_EQ(p.total, sizeof(names) / sizeof(names[0]));
    store_sandbox_page_release(&p);
    q.status_mask = 1u << 20;
    CHECK_EQ(store_sandbox_list(f.st, &q, &p), -EINVAL);
    struct store_sandbox_patch patch = { .fields = STORE_PATCH_IP, .ip = huge };
    CHECK_EQ(store_sandbox_update(f.st, NULL, "sb-x", &patch), -ENAMETOOLONG);
    CHECK_EQ(store_check(f.st), 0);
    fx_close(&f);
}

TEST(sandbox_unsettled_for_reconcile)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    /* one row per state; two terminal ones, one of which has a leftover intent */
    char ids[STORE_STATE__COUNT][STORE_ID_SIZE];
    for (int s = 0; s < STORE_STATE__COUNT; s++) {
        struct store_sandbox sb;
        char name[16];
        snprintf(name, sizeof(name), "r%d", s);
        fx_sandbox(&sb, "alice", f.key_id, name, 100 + s);
        sb.status = (enum store_state)s;
        snprintf(sb.host_id, sizeof(sb.host_id), "%s", s % 2 ? "h1" : "h2");
        if (s == STORE_FAILED)
            sb.target_state = STORE_DESTROYED;
        CHECK_EQ(store_sandbox_insert(f.st, &sb, NULL, 0), 0);
        memcpy(ids[s], sb.id, STORE_ID_SIZE);
    }
    struct store_sandbox *v;
    size_t n;
    CHECK_EQ(store_sandbox_list_unsettled(f.st, NULL, &v, &n), 0);
    CHECK_EQ(n, STORE_STATE__COUNT - 1); /* all but destroyed */
    for (size_t i = 0; i < n; i++) {
        CHECK(v[i].status != STORE_DESTROYED);
        if (i > 0)
            CHECK(v[i].created_at > v[i - 1].created_at); /* oldest first */
    }
    CHECK_STR(v[n - 1].id, ids[STORE_FAILED]);
    CHECK_EQ(v[n - 1].target_state, STORE_DESTROYED);
    store_sandbox_array_free(v, n);
    CHECK_EQ(store_sandbox_list_unsettled(f.st, "h1", &v, &n), 0);
    for (size_t i = 0; i < n; i++)
        CHECK_STR(v[i].host_id, "h1");
    CHECK_EQ(n, 5); /* states 1,3,5,7,9: running paused forking destroying failed */
    store_sandbox_array_free(v, n);
    CHECK_EQ(store_sandbox_list_unsettled(f.st, "nope", &v, &n), 0);
    CHECK_EQ(n, 0);
    store_sandbox_array_free(v, n);
    fx_close(&f);
}

TEST(state_names_and_graph)
{
    for (int s = 0; s < STORE_STATE__COUNT; s++) {
        const char *name = store_state_to_string((enum store_state)s);
        CHECK(name != NULL);
        enum store_state back;
        CHECK_EQ(store_state_from_string(name, strlen(name), &back), 0);
        CHECK_EQ(back, s);
    }
    CHECK(store_state_to_string(STORE_STATE_NONE) == NULL);
    CHECK(store_state_to_string(STORE_STATE__COUNT) == NULL);
    enum store_state st;
    CHECK_EQ(store_state_from_string("Running", 7, &st), -EINVAL);
    CHECK_EQ(store_state_from_string("running ", 8, &st), -EINVAL);
    CHECK_EQ(store_state_from_string("runnin", 6, &st), -EINVAL);
    CHECK_EQ(store_state_from_string("running\0", 8, &st), -EINVAL);
    CHECK_EQ(store_state_from_string("", 0, &st), -EINVAL);
    CHECK_EQ(store_state_from_string(NULL, 0, &st), -EINVAL);
    CHECK(store_state_is_terminal(STORE_DESTROYED) && store_state_is_terminal(STORE_FAILED));
    CHECK(!store_state_is_terminal(STORE_ERROR) && !store_state_is_terminal(STORE_STATE_NONE));
    CHECK(store_state_transition_allowed(STORE_RUNNING, STORE_PAUSING));
    CHECK(store_state_transition_allowed(STORE_PAUSING, STORE_RUNNING));
    CHECK(store_state_transition_allowed(STORE_ERROR, STORE_RESUMING));
    CHECK(store_state_transition_allowed(STORE_PAUSED, STORE_DESTROYED));
    CHECK(store_state_transition_allowed(STORE_FAILED, STORE_DESTROYED));
    CHECK(!store_state_transition_allowed(STORE_PAUSED, STORE_DESTROYING));
    CHECK(!store_state_transition_allowed(STORE_DESTROYED, STORE_RUNNING));
    CHECK(!store_state_transition_allowed(STORE_RUNNING, STORE_PAUSED));
    CHECK(!store_state_transition_allowed(STORE_STATE_NONE, STORE_RUNNING));
}

/* snapshot_dir and base_dir round-trip through insert, patch and read; store_snapshot_refs()
 * counts live rows naming a directory in either column, never terminal ones. */
TEST(sandbox_snapshot_dirs_and_refs)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store_sandbox a, b, c;
    fx_sandbox(&a, "alice", f.key_id, "snap-a", 100);
    fx_sandbox(&b, "alice", f.key_id, "snap-b", 200);
    fx_sandbox(&c, "alice", f.key_id, "snap-c", 300);
    a.status = b.status = c.status = STORE_PAUSED;
    a.snapshot_dir = "/d/S1";
    b.snapshot_dir = "/d/S1"; /* a fork: the source's snapshot is its own and its base */
    b.base_dir = "/d/S1";
    c.base_dir = "/d/G";
    CHECK_EQ(store_sandbox_insert(f.st, &a, NULL, 0), 0);
    CHECK_EQ(store_sandbox_insert(f.st, &b, NULL, 0), 0);
    CHECK_EQ(store_sandbox_insert(f.st, &c, NULL, 0), 0);
    uint64_t n = 99;
    CHECK_EQ(store_snapshot_refs(f.st, "/d/S1", &n), 0);
    CHECK_EQ(n, 2u);
    CHECK_EQ(store_snapshot_refs(f.st, "/d/G", &n), 0);
    CHECK_EQ(n, 1u);
    CHECK_EQ(store_snapshot_refs(f.st, "/d/none'; --", &n), 0);
    CHECK_EQ(n, 0u);
    CHECK_EQ(store_snapshot_refs(f.st, "", &n), -EINVAL);
    CHECK_EQ(store_snapshot_refs(f.st, NULL, &n), -EINVAL);
    struct store_sandbox got;
    CHECK_EQ(store_sandbox_get(f.st, "alice", b.id, &got), 0);
    CHECK_STR(got.snapshot_dir, "/d/S1");
    CHECK_STR(got.base_dir, "/d/S1");
    store_sandbox_release(&got);
    /* a consumed resume: snapshot cleared, base kept */
    struct store_sandbox_patch p = { .fields = STORE_PATCH_SNAPSHOT,
                                     .allowed_states = STORE_STATE_BIT(STORE_PAUSED),
                                     .snapshot_dir = NULL, .base_dir = "/d/S0", .now_ms = 5 };
    CHECK_EQ(store_sandbox_update(f.st, NULL, a.id, &p), 0);
    CHECK_EQ(store_sandbox_get(f.st, "alice", a.id, &got), 0);
    CHECK(got.snapshot_dir == NULL);
    CHECK_STR(got.base_dir, "/d/S0");
    store_sandbox_release(&got);
    CHECK_EQ(store_snapshot_refs(f.st, "/d/S1", &n), 0);
    CHECK_EQ(n, 1u);
    /* a destroyed row holds nothing */
    struct store_transition t = { .from = STORE_PAUSED, .to = STORE_DESTROYED,
                                  .intent = STORE_STATE_NONE, .now_ms = 6 };
    CHECK_EQ(store_sandbox_transition(f.st, b.id, &t, NULL), 0);
    CHECK_EQ(store_snapshot_refs(f.st, "/d/S1", &n), 0);
    CHECK_EQ(n, 0u);
    /* a patch in a state it does not allow changes nothing */
    p.allowed_states = STORE_STATE_BIT(STORE_RUNNING);
    p.base_dir = "/d/other";
    CHECK_EQ(store_sandbox_update(f.st, NULL, c.id, &p), -ESTALE);
    CHECK_EQ(store_snapshot_refs(f.st, "/d/G", &n), 0);
    CHECK_EQ(n, 1u);
    fx_close(&f);
}

/* The ingress proxy's name lookup: any user's live sandbox with ingress on and that hostname,
 * only when exactly one carries it. */
TEST(sandbox_get_ingress_name)
{
    struct fx f;
    char bob_key[STORE_ID_SIZE];
    if (!open_two(&f, bob_key))
        return;
    struct store_sandbox a, b, g;
    fx_sandbox(&a, "alice", f.key_id, "Web_App", 1);
    a.ingress_enabled = true;
    fx_sandbox(&b, "bob", bob_key, "web-app", 2);
    CHECK_EQ(store_sandbox_insert(f.st, &a, NULL, 0), 0);
    CHECK_EQ(store_sandbox_insert(f.st, &b, NULL, 0), 0);
    CHECK_EQ(store_sandbox_get_ingress_name(f.st, "web-app", &g), 0); /* bob's has ingress off */
    CHECK_STR(g.id, a.id);
    store_sandbox_release(&g);
    CHECK_EQ(store_sandbox_get_ingress_name(f.st, "Web_App", &g), -ENOENT); /* hostname only */
    CHECK_EQ(store_sandbox_get_ingress_name(f.st, "nope", &g), -ENOENT);
    CHECK_EQ(store_sandbox_get_ingress_name(f.st, "", &g), -ENOENT);
    struct store_sandbox_patch on = { .fields = STORE_PATCH_INGRESS, .ingress_enabled = true };
    CHECK_EQ(store_sandbox_update(f.st, "bob", b.id, &on), 0);
    CHECK_EQ(store_sandbox_get_ingress_name(f.st, "web-app", &g), -ENOTUNIQ);
    /* a destroyed one no longer counts */
    struct store_transition t = { .from = STORE_RUNNING, .to = STORE_DESTROYED,
                                  .intent = STORE_STATE_NONE, .now_ms = 5 };
    CHECK_EQ(store_sandbox_transition(f.st, b.id, &t, NULL), 0);
    CHECK_EQ(store_sandbox_get_ingress_name(f.st, "web-app", &g), 0);
    CHECK_STR(g.id, a.id);
    store_sandbox_release(&g);
    fx_close(&f);
}
