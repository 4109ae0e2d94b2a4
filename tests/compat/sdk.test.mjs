// sdk.test.mjs: the official CreateOS Sandbox TypeScript SDK (@nodeops-createos/sandbox, pinned in
// package.json), used unchanged and only through its public API, against a real hearthd on
// 127.0.0.1. tests/compat/run.sh starts the daemon and sets:
//
//   CREATEOS_SANDBOX_BASE_URL   http://127.0.0.1:<port>   (read by the SDK itself)
//   CREATEOS_SANDBOX_API_KEY    a key of user "compat"    (read by the SDK itself)
//   HEARTH_COMPAT_LIST_KEY      a key of user "compat-list", who owns HEARTH_COMPAT_LIST_ROWS rows
//   HEARTH_COMPAT_LIFE_KEY      a key of user "compat-life", who owns 3 rows (running, paused,
//                               destroyed), for destroy without a VM
//   HEARTH_COMPAT_ADMIN_KEY     the admin key hearthd wrote at first start
//   HEARTH_COMPAT_SDK           the installed package directory (outside the clone)
//
// The VM-backed tests create one sandbox and skip themselves, with the reason, while the server
// answers create with 503 `unavailable` or 501 (the VM layer is not wired to the API yet).
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { destroyQuietly, loadSdk, rejectsWith } from "./common.mjs";

const sdk = await loadSdk();
const {
    CreateosSandboxClient,
    Sandbox,
    CreateosSandboxError,
    CreateosSandboxApiError,
    CreateosSandboxAuthError,
    CreateosSandboxPermissionError,
    CreateosSandboxNotFoundError,
    CreateosSandboxValidationError,
} = sdk;

const BASE = process.env.CREATEOS_SANDBOX_BASE_URL;
const LIST_ROWS = Number(process.env.HEARTH_COMPAT_LIST_ROWS ?? "0");
const SHAPE = "s-1vcpu-512mb";
const UNKNOWN_ID = "sb-01ARZ3NDEKTSV4RRFFQ69G5FAV";
const TS_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

// Refuse to run against anything but the local daemon run.sh started.
assert.ok(BASE && new URL(BASE).hostname === "127.0.0.1", `base URL must be 127.0.0.1: ${BASE}`);

// The default client takes its base URL and key from the environment, as users configure it.
const client = new CreateosSandboxClient();
const clientFor = (apiKey, extra = {}) => new CreateosSandboxClient({ apiKey, ...extra });

// ---- catalog, identity, probes (no VM needed) ----

describe("catalog and identity", () => {
    test("healthz and readyz", async () => {
        const h = await client.healthz();
        assert.equal(h.up, true);
        const r = await client.readyz();
        assert.equal(typeof r.ready, "boolean");
        if (!r.ready) assert.equal(typeof r.reason, "string");
    });

    test("listShapes walks the paginated catalog", async () => {
        const seen = [];
        const c = new CreateosSandboxClient({
            hooks: { onRequest: (ctx) => seen.push(ctx) },
        });
        const shapes = await c.listShapes();
        const ids = shapes.map((s) => s.id);
        for (const id of ["s-1vcpu-256mb", "s-1vcpu-512mb", "s-1vcpu-1gb", "s-1vcpu-2gb",
            "s-2vcpu-2gb", "s-2vcpu-4gb", "s-4vcpu-4gb", "s-4vcpu-8gb"]) {
            assert.ok(ids.includes(id), `shape ${id} listed`);
        }
        assert.equal(new Set(ids).size, ids.length, "no duplicates");
        const s = shapes.find((x) => x.id === "s-2vcpu-4gb");
        assert.equal(s.vcpu, 2);
        assert.equal(s.mem_mib, 4096);
        assert.equal(s.default_disk_mib, 10240);
        for (const x of shapes) {
            assert.equal(typeof x.vcpu, "number");
            assert.equal(typeof x.mem_mib, "number");
            assert.ok(!Object.values(x).includes(null), "no nulls");
        }
        // unauthenticated: the SDK strips its key on this route
        const shapeReq = seen.find((x) => x.url.includes("/v1/shapes"));
        assert.ok(shapeReq, "a request to /v1/shapes");
        assert.match(shapeReq.url, /limit=500/);
        assert.match(shapeReq.url, /offset=0/);
        assert.equal(shapeReq.headers["x-api-key"], undefined);
    });

    test("listShapes works without any API key", async () => {
        const c = new CreateosSandboxClient({ apiKey: "" });
        const shapes = await c.listShapes();
        assert.ok(shapes.length >= 8);
    });

    test("listRootfs", async () => {
        const r = await client.listRootfs();
        assert.ok(Array.isArray(r.rootfs));
        assert.equal(r.default, "devbox:1");
        assert.ok(r.rootfs.includes("devbox:1"), `devbox:1 enabled (images present?): ${r.rootfs}`);
        assert.ok(Array.isArray(r.entries));
        assert.deepEqual(r.entries.map((e) => e.name), r.rootfs);
    });

    test("whoami", async () => {
        const me = await client.whoami();
        assert.equal(me.user_id, "compat");
        const { running, paused, other, total } = me.stats;
        for (const v of [running, paused, other, total]) assert.ok(Number.isInteger(v) && v >= 0);
        assert.equal(total, running + paused + other);
    });

    test("listHosts: admin only", async () => {
        await rejectsWith(() => client.listHosts(), CreateosSandboxPermissionError);
        const admin = process.env.HEARTH_COMPAT_ADMIN_KEY;
        assert.ok(admin, "admin key");
        const hosts = await clientFor(admin).listHosts();
        const h = hosts.find((x) => x.id === "compat-host");
        assert.ok(h, `compat-host listed: ${JSON.stringify(hosts)}`);
        assert.equal(typeof h.status, "string");
    });
});

// ---- sandbox lists (rows seeded through the store) ----

describe("listSandboxes pagination", () => {
    const key = process.env.HEARTH_COMPAT_LIST_KEY;

    test("full walk across pages of 500", async () => {
        assert.ok(key && LIST_ROWS > 1000, "run.sh seeds more than two pages");
        const urls = [];
        const c = clientFor(key, { hooks: { onRequest: (ctx) => urls.push(ctx.url) } });
        const all = await c.listSandboxes();
        assert.equal(all.length, LIST_ROWS);
        assert.ok(all.every((s) => s instanceof Sandbox));
        const ids = all.map((s) => s.id);
        assert.equal(new Set(ids).size, LIST_ROWS, "no row twice");
        assert.ok(ids.every((id) => /^sb-[0-9A-Z]{26}$/.test(id)));
        // newest first, stable across pages
        for (let i = 1; i < all.length; i++) {
            assert.ok(all[i - 1].data.created_at >= all[i].data.created_at, `order at ${i}`);
        }
        const pages = urls.filter((u) => new URL(u).pathname === "/v1/sandboxes");
        assert.equal(pages.length, Math.ceil(LIST_ROWS / 500));
        pages.forEach((u, i) => {
            const q = new URL(u).searchParams;
            assert.equal(q.get("limit"), "500");
            assert.equal(q.get("offset"), String(i * 500));
        });
        const v = all[0].data;
        for (const f of ["id", "name", "status", "shape", "rootfs", "region", "created_at",
            "created_by"]) {
            assert.equal(typeof v[f], "string", `field ${f}`);
        }
        assert.match(v.created_at, TS_RE);
        assert.equal(typeof v.vcpu, "number");
        assert.equal(typeof v.ingress_enabled, "boolean");
        assert.ok(!Object.values(v).includes(null), "no nulls");
    });

    test("limit caps the walk; iterateSandboxes streams", async () => {
        const c = clientFor(key);
        const seven = await c.listSandboxes({ limit: 7 });
        assert.equal(seven.length, 7);
        const first = (await c.listSandboxes({ limit: 600 })).map((s) => s.id);
        assert.equal(first.length, 600);
        assert.deepEqual(seven.map((s) => s.id), first.slice(0, 7));
        let n = 0;
        for await (const s of c.iterateSandboxes()) {
            assert.ok(s instanceof Sandbox);
            n++;
        }
        assert.equal(n, LIST_ROWS);
    });

    test("status filter", async () => {
        const c = clientFor(key);
        const paused = await c.listSandboxes({ status: "paused" });
        // seed.c: row i is running / paused / destroyed for i % 3 == 0 / 1 / 2
        assert.equal(paused.length, Math.floor((LIST_ROWS + 1) / 3));
        assert.ok(paused.every((s) => s.status === "paused"));
        const err = await rejectsWith(() => c.listSandboxes({ status: "bogus" }),
            CreateosSandboxValidationError);
        assert.equal(err.statusCode, 400);
        assert.equal(err.code, "invalid_request");
    });

    test("another user's rows are invisible", async () => {
        const theirs = await clientFor(key).listSandboxes({ limit: 1 });
        const err = await rejectsWith(() => client.getSandbox(theirs[0].id),
            CreateosSandboxNotFoundError);
        assert.equal(err.statusCode, 404);
        const mine = await client.listSandboxes();
        assert.ok(!mine.some((s) => s.id === theirs[0].id));
    });
});

// ---- typed errors ----

describe("typed errors", () => {
    test("getSandbox on an unknown id: NotFound", async () => {
        const err = await rejectsWith(() => client.getSandbox(UNKNOWN_ID),
            CreateosSandboxNotFoundError);
        assert.ok(err instanceof CreateosSandboxApiError);
        assert.equal(err.statusCode, 404);
        assert.equal(err.method, "GET");
        assert.equal(err.endpoint, `/v1/sandboxes/${UNKNOWN_ID}`);
        assert.equal(err.resourceId, UNKNOWN_ID);
        assert.equal(err.envelope?.status, "fail");
        assert.equal(typeof err.envelope?.data, "string");
        assert.match(err.message, /sandbox not found/);
        assert.ok(err.requestId, "X-Request-Id surfaced");
        await rejectsWith(() => Sandbox.connect(UNKNOWN_ID), CreateosSandboxNotFoundError);
    });

    test("bad API key: Auth (401)", async () => {
        const wellFormed = "hk_" + randomBytes(32).toString("base64url").slice(0, 43);
        for (const bad of [wellFormed, "not-a-key"]) {
            const c = clientFor(bad);
            const err = await rejectsWith(() => c.whoami(), CreateosSandboxAuthError);
            assert.equal(err.statusCode, 401);
            assert.equal(err.envelope?.status, "fail");
            await rejectsWith(() => c.listSandboxes(), CreateosSandboxAuthError);
            await rejectsWith(() => c.getSandbox(UNKNOWN_ID), CreateosSandboxAuthError);
        }
    });

    test("validation (400): typed error with the field map", async () => {
        const err = await rejectsWith(
            () => client.createSandbox({ shape: "s-bad" }, { retry: false }),
            CreateosSandboxValidationError);
        assert.equal(err.statusCode, 400);
        assert.equal(err.code, "unknown_reference");
        assert.equal(err.envelope.status, "fail");
        assert.equal(typeof err.envelope.data.shape, "string");
        assert.match(err.message, /^createos-sandbox request failed \(400\): .*shape/);

        const multi = await rejectsWith(() => client.createSandbox({
            shape: SHAPE,
            disk_mib: 1,
            envs: { "1X": "a" },
            auto_pause_after_seconds: 5,
        }, { retry: false }), CreateosSandboxValidationError);
        assert.equal(multi.code, "invalid_request");
        for (const f of ["disk_mib", "envs.1X", "auto_pause_after_seconds"]) {
            assert.equal(typeof multi.envelope.data[f], "string", `field ${f} in ${JSON.stringify(multi.envelope.data)}`);
        }
    });

    test("every typed error is a CreateosSandboxError", async () => {
        const err = await rejectsWith(() => client.getSandbox(UNKNOWN_ID), CreateosSandboxError);
        assert.ok(err instanceof Error);
    });
});

// ---- destroy without a VM (seeded rows) ----

describe("destroy a stored sandbox", () => {
    test("paused row: destroy, waitUntilDestroyed, repeat", async () => {
        const c = clientFor(process.env.HEARTH_COMPAT_LIFE_KEY);
        const rows = await c.listSandboxes();
        assert.equal(rows.length, 3);
        const paused = rows.find((s) => s.status === "paused");
        assert.ok(paused);
        const sb = await c.getSandbox(paused.id);
        assert.equal(sb.status, "paused");
        const res = await sb.destroy();
        assert.deepEqual(Object.keys(res).sort(), ["id", "status"]);
        assert.equal(res.id, paused.id);
        assert.equal(res.status, "destroyed");
        assert.equal(sb.status, "destroyed");
        await sb.waitUntilDestroyed({ timeoutMs: 10_000 });
        assert.match(sb.data.destroyed_at, TS_RE);
        assert.equal(sb.data.ip, undefined);
        // idempotent, and the row stays readable within retention
        assert.equal((await sb.destroy()).status, "destroyed");
        assert.equal((await c.getSandbox(paused.id)).status, "destroyed");
        const me = await c.whoami();
        assert.equal(me.stats.paused, 0);
    });
});

// ---- VM-backed: one real sandbox ----

describe("VM-backed sandbox", () => {
    let sb; // the Sandbox handle from createSandbox
    let createError;
    const name = `compat-${Date.now().toString(36)}`;

    before(async () => {
        try {
            // retry:false: a 503 means "nothing happened" and the SDK would otherwise wait out
            // Retry-After twice before reporting it.
            sb = await client.createSandbox({ shape: SHAPE, rootfs: "devbox:1", name },
                { retry: false, timeoutMs: 120_000 });
        } catch (e) {
            createError = e; /* every VM test then fails with the create's error */
        }
    });

    after(async () => {
        if (!sb) return;
        try {
            await sb.destroy();
            await sb.waitUntilDestroyed({ timeoutMs: 60_000 });
        } catch {
            // the destroy test reports problems; this is only cleanup
        }
    });

    // Runs fn once the shared sandbox exists; fails with the create's error otherwise.
    const vmTest = (title, fn) => test(title, async (t) => {
        if (createError) throw createError;
        await fn(t);
    });

    vmTest("create answers a running sandbox", async () => {
        assert.ok(sb instanceof Sandbox);
        assert.match(sb.id, /^sb-[0-9A-Z]{26}$/);
        assert.equal(sb.status, "running");
        assert.equal(sb.name, name);
        const d = sb.data;
        assert.equal(d.shape, SHAPE);
        assert.equal(d.rootfs, "devbox:1");
        assert.equal(d.vcpu, 1);
        assert.equal(d.mem_mib, 512);
        // `ip` is present only while an address is held (docs/api.md §2.1); sandboxes get addresses
        // with the networking issue, so until then it must be absent rather than null.
        if ("ip" in d) assert.equal(typeof d.ip, "string");
        assert.equal(typeof d.spawn_ms, "number");
        assert.equal(typeof d.bandwidth_quota_bytes, "number");
        assert.match(d.created_at, TS_RE);
        assert.ok(!Object.values(d).includes(null), "no nulls");
    });

    vmTest("getSandbox", async () => {
        const got = await client.getSandbox(sb.id);
        assert.equal(got.id, sb.id);
        assert.equal(got.status, "running");
        assert.equal(got.ip, sb.ip);
        assert.equal(got.name, name);
        assert.match(got.data.running_at, TS_RE);
        const listed = await client.listSandboxes({ status: "running" });
        assert.ok(listed.some((s) => s.id === sb.id));
        assert.ok((await client.whoami()).stats.running >= 1);
    });

    vmTest("runCommand: stdout, stderr and exit code", async () => {
        const out = await sb.runCommand("uname", ["-s"]);
        assert.equal(out.result.stdout, "Linux\n");
        assert.equal(out.result.stderr, "");
        assert.equal(out.result.exit_code, 0);
        assert.equal(out.result.error, undefined);
        assert.equal(typeof out.exec_ms, "number");

        const fail = await sb.runCommand("bash", ["-c", "echo oops >&2; exit 7"]);
        assert.equal(fail.result.exit_code, 7, "a non-zero exit is a result, not an error");
        assert.equal(fail.result.stderr, "oops\n");

        const missing = await sb.runCommand("no-such-command-hearth", []);
        assert.equal(missing.result.exit_code, -1);
        assert.equal(typeof missing.result.error, "string");

        const shOut = await sb.sh("echo \"$HOME\" && pwd");
        assert.equal(shOut.result.stdout, "/root\n/root\n");
        await rejectsWith(() => sb.sh("exit 3", { label: "compat" }), CreateosSandboxError);
    });

    vmTest("streamCommand: chunks arrive, exit last", async () => {
        const events = [];
        const stamps = [];
        const script = "for i in 1 2 3; do echo out$i; sleep 0.3; done; echo err1 >&2; exit 4";
        for await (const ev of sb.streamCommand("bash", ["-c", script])) {
            events.push(ev);
            stamps.push(Date.now());
        }
        const stdout = events.filter((e) => e.type === "stdout");
        const stderr = events.filter((e) => e.type === "stderr");
        assert.equal(stdout.map((e) => e.data).join(""), "out1\nout2\nout3\n");
        assert.equal(stderr.map((e) => e.data).join(""), "err1\n");
        assert.ok(stdout.length >= 2, `output streamed in several frames, got ${stdout.length}`);
        const firstOut = stamps[events.indexOf(stdout[0])];
        const exitAt = stamps[stamps.length - 1];
        assert.ok(exitAt - firstOut >= 300, "first chunk arrived before the command ended");
        const last = events[events.length - 1];
        assert.deepEqual(last, { type: "exit", exitCode: 4 });
        assert.equal(events.filter((e) => e.type === "exit").length, 1);
        assert.ok(!events.some((e) => e.type === "error"));
    });

    vmTest("files: upload and download round-trip bytes", async () => {
        const bytes = new Uint8Array(256 * 1024 + 17);
        for (let i = 0; i < 256; i++) bytes[i] = i; // every byte value
        bytes.set(randomBytes(bytes.length - 256), 256);
        const path = "/tmp/compat/new dir/blob+1.bin"; // missing parents; space and '+' in query
        await sb.files.upload(path, bytes);
        const back = new Uint8Array(await sb.files.download(path));
        assert.equal(back.length, bytes.length);
        assert.ok(Buffer.from(back).equals(Buffer.from(bytes)), "same bytes");

        await sb.files.upload(path, "replaced\n"); // a repeat overwrites
        const text = new TextDecoder().decode(await sb.files.download(path));
        assert.equal(text, "replaced\n");
        const seen = await sb.runCommand("cat", [path]);
        assert.equal(seen.result.stdout, "replaced\n");

        await sb.files.upload("/tmp/compat/empty", new Uint8Array(0));
        assert.equal((await sb.files.download("/tmp/compat/empty")).byteLength, 0);

        await rejectsWith(() => sb.files.download("/tmp/compat/nope"), CreateosSandboxNotFoundError);
        const rel = await rejectsWith(() => sb.files.upload("relative/path", "x"),
            CreateosSandboxValidationError);
        assert.equal(typeof rel.envelope.data.path, "string");
        await rejectsWith(() => sb.files.download("/tmp/compat"), CreateosSandboxValidationError);
    });

    vmTest("destroy and waitUntilDestroyed", async () => {
        const res = await sb.destroy();
        assert.equal(res.id, sb.id);
        assert.ok(["destroying", "destroyed"].includes(res.status), res.status);
        await sb.waitUntilDestroyed({ timeoutMs: 60_000 });
        assert.equal(sb.status, "destroyed");
        const again = await client.getSandbox(sb.id);
        assert.equal(again.status, "destroyed");
        assert.equal(again.ip, undefined);
        assert.match(again.data.destroyed_at, TS_RE);
        assert.equal((await sb.destroy()).status, "destroyed", "repeat is 200 destroyed");
        const gone = sb;
        sb = undefined; // nothing left for after()
        await rejectsWith(() => gone.runCommand("true"), CreateosSandboxValidationError);
    });
});

// ---- VM-backed: pause, fork, resume (docs/api.md §2.14, §3.3.1–§3.3.3) ----
//
// The SDK's own flow: Sandbox.pause() / resume() are POST …/pause and …/resume with no body and
// take the 200 or 202 view as is (no polling, X-Poll-After unread); waitUntilPaused() /
// waitUntilRunning() poll GET /v1/sandboxes/{id} (250 ms, growing after 5 s, capped at 2 s)
// and give up on error, failed, destroying, destroyed. Sandbox.fork(req) is POST …/fork with
// the request as the JSON body and wraps the child's view in a new Sandbox; it does not check
// the source's state itself, so a running source is forked live by the server. Skipped while the
// server answers 501 for pause (the snapshot routes are not wired yet).

describe("VM-backed pause, fork and resume", () => {
    let parent;
    let child;
    let skipReason;

    before(async () => {
        // one cheap probe (no VM): an unknown id is 404 once the route exists, 501 before
        const res = await fetch(`${BASE}/v1/sandboxes/${UNKNOWN_ID}/pause`, {
            method: "POST",
            headers: { "X-Api-Key": process.env.CREATEOS_SANDBOX_API_KEY },
        });
        await res.arrayBuffer();
        if (res.status === 501) skipReason = "server answers 501 for POST …/pause";
    });

    after(async () => {
        for (const sb of [child, parent]) {
            if (!sb) continue;
            try {
                await sb.destroy();
                await sb.waitUntilDestroyed({ timeoutMs: 60_000 });
            } catch {
                // only cleanup; the test reports problems
            }
        }
    });

    test("create, write, pause, fork start_paused, resume the child, it sees the file", async (t) => {
        if (skipReason) {
            t.skip(skipReason);
            return;
        }
        parent = await client.createSandbox(
            { shape: SHAPE, rootfs: "devbox:1", name: `compat-fork-${Date.now().toString(36)}` },
            { retry: false, timeoutMs: 120_000 });
        assert.equal(parent.status, "running");
        const w = await parent.runCommand("bash", ["-c", "echo parent-state >/root/compat-mark"]);
        assert.equal(w.result.exit_code, 0);

        // pause: 202 pausing (or 200 paused if it was that quick), then poll until paused
        await parent.pause();
        assert.ok(["pausing", "paused"].includes(parent.status), parent.status);
        await parent.waitUntilPaused({ timeoutMs: 120_000 });
        assert.equal(parent.status, "paused");
        assert.match(parent.data.paused_at, TS_RE);
        await parent.pause(); // already paused: 200 with the view
        assert.equal(parent.status, "paused");
        // a paused sandbox runs nothing: 409 invalid_state
        const busy = await rejectsWith(() => parent.runCommand("true"),
            CreateosSandboxValidationError);
        assert.equal(busy.statusCode, 409);
        assert.equal(busy.code, "invalid_state");

        // fork: the child is a new sandbox that names its source
        child = await parent.fork({ start_paused: true });
        assert.ok(child instanceof Sandbox);
        assert.match(child.id, /^sb-[0-9A-Z]{26}$/);
        assert.notEqual(child.id, parent.id);
        assert.notEqual(child.name, parent.name);
        assert.equal(child.data.forked_from, parent.id);
        assert.ok(["forking", "paused"].includes(child.status), child.status);
        await child.waitUntilPaused({ timeoutMs: 120_000 });
        assert.equal(child.status, "paused");
        assert.equal((await client.getSandbox(parent.id)).status, "paused", "source untouched");

        // resume the child: 202 resuming (or 200 running), then poll until running
        await child.resume();
        assert.ok(["resuming", "running"].includes(child.status), child.status);
        await child.waitUntilRunning({ timeoutMs: 120_000 });
        assert.equal(child.status, "running");
        const seen = await child.runCommand("cat", ["/root/compat-mark"]);
        assert.equal(seen.result.stdout, "parent-state\n");
        await child.resume(); // already running: 200
        assert.equal(child.status, "running");

        // (hearth) a running source forks live: the SDK sends the same POST …/fork, the child
        // runs with the source's files and processes, and the source keeps running
        await child.runCommand("bash", ["-c", "echo live-state >/root/compat-live"]);
        const live = await child.fork({});
        try {
            assert.ok(live instanceof Sandbox);
            assert.equal(live.data.forked_from, child.id);
            assert.equal(live.status, "running");
            const got = await live.runCommand("cat", ["/root/compat-live"]);
            assert.equal(got.result.stdout, "live-state\n");
            assert.equal((await client.getSandbox(child.id)).status, "running", "source runs");
            const still = await child.runCommand("cat", ["/root/compat-mark"]);
            assert.equal(still.result.stdout, "parent-state\n");
        } finally {
            await live.destroy();
            await live.waitUntilDestroyed({ timeoutMs: 60_000 });
        }

        // the source resumes as it was
        await parent.resume();
        await parent.waitUntilRunning({ timeoutMs: 120_000 });
        const again = await parent.runCommand("cat", ["/root/compat-mark"]);
        assert.equal(again.result.stdout, "parent-state\n");

        for (const sb of [child, parent]) {
            const res = await sb.destroy();
            assert.ok(["destroying", "destroyed"].includes(res.status), res.status);
            await sb.waitUntilDestroyed({ timeoutMs: 60_000 });
            assert.equal(sb.status, "destroyed");
        }
        child = undefined;
        parent = undefined;
    });
});

// ---- VM-backed: networking (docs/api.md §3.6–§3.8) ----
//
// The SDK's networks sub-API (client.networks.list / create / get / delete) and the sandbox's
// getEgress / setEgress / getBandwidth / rechargeBandwidth / attachNetwork / detachNetwork,
// used unchanged: two sandboxes on one network reach each other by name, the egress list
// round-trips in its stored form, a recharge adds exactly add_bytes.

describe("VM-backed networking", () => {
    const made = [];
    let net;

    after(async () => {
        for (const sb of made) {
            try {
                await sb.destroy();
                await sb.waitUntilDestroyed({ timeoutMs: 60_000 });
            } catch {
                // only cleanup
            }
        }
        if (net) {
            try {
                await client.networks.delete(net.id);
            } catch {
                // only cleanup
            }
        }
    });

    test("network, members by name, egress, bandwidth, attach and detach", async () => {
        const suffix = Date.now().toString(36);
        net = await client.networks.create({ name: `compat-net-${suffix}` });
        assert.match(net.id, /^net-[0-9A-Z]{26}$/);
        assert.equal(net.member_count, 0);
        assert.match(net.created_at, TS_RE);
        const listed = await client.networks.list();
        assert.ok(listed.some((n) => n.id === net.id));

        const a = await client.createSandbox(
            { shape: SHAPE, rootfs: "devbox:1", name: `compat-a-${suffix}`,
              networks: [{ id: net.id }] },
            { retry: false, timeoutMs: 120_000 });
        made.push(a);
        const b = await client.createSandbox(
            { shape: SHAPE, rootfs: "devbox:1", name: `compat-b-${suffix}` },
            { retry: false, timeoutMs: 120_000 });
        made.push(b);
        assert.match(a.data.ip, /^\d+\.\d+\.\d+\.\d+$/);
        assert.notEqual(a.data.ip, b.data.ip);

        // b joins live and reaches a by its name
        const ok = await b.attachNetwork(net.id);
        assert.equal(ok.ok, true);
        const got = await client.networks.get(net.id);
        assert.equal(got.members.length, 2);
        for (const m of got.members) assert.match(m.ip, /^\d+\.\d+\.\d+\.\d+$/);
        const ping = await b.runCommand("bash", ["-c",
            `for i in $(seq 50); do getent hosts compat-a-${suffix} && exit 0; sleep 0.1; done; exit 1`]);
        assert.equal(ping.result.exit_code, 0, ping.result.stderr);
        const busy = await rejectsWith(() => client.networks.delete(net.id),
            CreateosSandboxApiError);
        assert.equal(busy.statusCode, 409);
        await b.detachNetwork(net.id);
        await a.detachNetwork(net.id);
        assert.equal((await client.networks.get(net.id)).members.length, 0);

        // egress: stored form back, null means allow all
        const set = await a.setEgress(["API.Example.com", "10.1.2.3/8:443"]);
        assert.deepEqual(set.egress, ["api.example.com", "10.0.0.0/8:443"]);
        assert.deepEqual((await a.getEgress()).egress, ["api.example.com", "10.0.0.0/8:443"]);
        assert.deepEqual((await a.setEgress(null)).egress, []);
        const bad = await rejectsWith(() => a.setEgress(["ok.example", "::1"]),
            CreateosSandboxValidationError);
        assert.equal(bad.statusCode, 400);

        // bandwidth: the default 5 GiB quota, a recharge adds exactly add_bytes
        const bw = await a.getBandwidth();
        assert.equal(bw.quota_bytes, 5 * 1024 ** 3);
        assert.equal(bw.capped, false);
        const more = await a.rechargeBandwidth(1024);
        assert.equal(more.quota_bytes - bw.quota_bytes, 1024);

        await client.networks.delete(net.id);
        await rejectsWith(() => client.networks.get(net.id), CreateosSandboxNotFoundError);
        net = undefined;
    });
});

// ---- in-guest self-signal (docs/api.md §3.15) ----
//
// A workload pauses its own sandbox with a plain HTTP client inside the guest; the SDK sees it
// with waitUntilPaused() like any pause. The reason shows in the sandbox view (pause_reason,
// paused_by: new fields the SDK keeps in .data) and in the event log (a hearth extension).

describe("in-guest self-pause seen through the SDK", () => {
    let sb;

    after(() => destroyQuietly(sb));

    test("curl to 127.0.0.1:1029/self/pause, then waitUntilPaused", async () => {
        sb = await client.createSandbox(
            { shape: SHAPE, rootfs: "devbox:1", name: `compat-self-${Date.now().toString(36)}` },
            { retry: false, timeoutMs: 120_000 });
        const started = await sb.runCommand("bash", ["-c",
            "setsid sh -c 'sleep 1; curl -s -X POST " +
            "\"http://127.0.0.1:1029/self/pause?reason=compat%20done\" > /tmp/self.out' " +
            "</dev/null >/dev/null 2>&1 &"]);
        assert.equal(started.result.exit_code, 0);
        await sb.waitUntilPaused({ timeoutMs: 120_000 });
        const got = await client.getSandbox(sb.id);
        assert.equal(got.status, "paused");
        assert.equal(got.data.paused_by, "self");
        assert.equal(got.data.pause_reason, "compat done");
        const res = await fetch(`${BASE}/v1/sandboxes/${sb.id}/events`, {
            headers: { "X-Api-Key": process.env.CREATEOS_SANDBOX_API_KEY },
        });
        assert.equal(res.status, 200);
        const kinds = (await res.json()).data.events.map((e) => `${e.kind}/${e.actor}/${e.reason}`);
        assert.ok(kinds.includes("self_request/self/compat done"), kinds.join(" "));
        assert.ok(kinds.includes("paused/self/compat done"), kinds.join(" "));
        await sb.resume();
        await sb.waitUntilRunning({ timeoutMs: 120_000 });
        const seen = await sb.runCommand("cat", ["/tmp/self.out"]);
        assert.match(seen.result.stdout, /"accepted":true,"action":"pause"/);
    });
});

// ---- ingress: previewUrl + waitForPortReady, unchanged ----
//
// The documented flow (docs/ingress-ssh.md "Ingress proxy"): start a server in the sandbox,
// waitForPortReady(), then fetch previewUrl(). hearthd's default ingress_domain is sb.localhost
// and its template carries the ingress listener's port; browsers and curl resolve *.localhost to
// loopback by themselves, Node's resolver may not, so this test's own HTTP client looks every
// name up as 127.0.0.1. The SDK is not touched.

// GET url with every host name resolved to 127.0.0.1: { status, body }.
function getLoopback(url) {
    const lookup = (host, opts, cb) => opts && opts.all
        ? cb(null, [{ address: "127.0.0.1", family: 4 }])
        : cb(null, "127.0.0.1", 4);
    return new Promise((resolve, reject) => {
        const req = httpRequest(url, { lookup, timeout: 60_000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c) => { body += c; });
            res.on("end", () => resolve({ status: res.statusCode, body, headers: res.headers }));
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", reject);
        req.end();
    });
}

describe("VM-backed ingress through previewUrl", () => {
    let sb;

    after(() => destroyQuietly(sb));

    test("previewUrl + waitForPortReady reach a server in the sandbox", async () => {
        sb = await client.createSandbox(
            { shape: SHAPE, rootfs: "devbox:1", name: `compat-web-${Date.now().toString(36)}`,
              ingress_enabled: true },
            { retry: false, timeoutMs: 120_000 });
        assert.equal(sb.data.ingress_enabled, true);
        const started = await sb.runCommand("bash", ["-c",
            "cd /tmp && echo compat-ingress > index.html; " +
            "setsid python3 -m http.server 8080 </dev/null >/dev/null 2>&1 &"]);
        assert.equal(started.result.exit_code, 0);
        await sb.waitForPortReady(8080, { timeoutMs: 30_000 });
        const url = sb.previewUrl(8080);
        assert.match(url, /^http:\/\/8080-sb-[0-9a-z]{26}\.sb\.localhost:\d+$/);
        const res = await getLoopback(`${url}/index.html`);
        assert.equal(res.status, 200);
        assert.equal(res.body, "compat-ingress\n");
        // a port nobody listens on: the proxy's 502 page
        const closed = await getLoopback(sb.previewUrl(8081));
        assert.equal(closed.status, 502);
        assert.equal(closed.headers["cache-control"], "no-store");
    });
});
