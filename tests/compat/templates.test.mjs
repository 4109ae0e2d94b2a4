// templates.test.mjs: templates (docs/templates.md) through the official SDK, unchanged and only
// through its public API, as a new user would try it: client.templates.create with a three-step
// Dockerfile, followLogs to the final frame, get (with include: "dockerfile"), list, logs, a
// sandbox created with rootfs = the template's name whose runCommand sees the file a RUN wrote
// and the ENV the Dockerfile set, then delete (the name is free; new creates are refused). The
// same Dockerfile again is all cache hits. A bad Dockerfile is a validation error naming the
// line.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";

import { destroyQuietly, loadSdk, rejectsWith } from "./common.mjs";

const { CreateosSandboxClient, CreateosSandboxValidationError, CreateosSandboxNotFoundError } =
    await loadSdk();
const BASE = process.env.CREATEOS_SANDBOX_BASE_URL;
assert.ok(BASE && new URL(BASE).hostname === "127.0.0.1", `base URL must be 127.0.0.1: ${BASE}`);
const client = new CreateosSandboxClient();

const DOCKERFILE = [
    "FROM devbox:1",
    "RUN mkdir -p /opt/app && echo built-by-hearth > /opt/app/marker",
    "ENV GREETING=hello-from-template",
    "RUN echo \"$GREETING\" >> /opt/app/marker",
    "",
].join("\n");

async function follow(id) {
    const lines = [];
    let final;
    for await (const ev of client.templates.followLogs(id)) {
        if (ev.final) {
            final = ev;
            break;
        }
        lines.push(ev);
    }
    return { lines, final };
}

describe("templates through the SDK", () => {
    const suffix = Date.now().toString(36);
    const name = `compat-tpl-${suffix}`;
    let tpl, again, sb;

    after(async () => {
        await destroyQuietly(sb);
        for (const t of [tpl, again]) {
            if (!t) continue;
            try {
                await client.templates.delete(t.id);
            } catch {
                // only cleanup
            }
        }
    });

    test("a bad Dockerfile is a validation error naming the line", async () => {
        const err = await rejectsWith(() => client.templates.create({ name: `${name}-bad`,
            dockerfile: "FROM devbox:1\nRUN true\nFROBNICATE now\n" }), CreateosSandboxValidationError);
        assert.match(JSON.stringify(err.body ?? err.message), /line 3/);
    });

    test("create, follow the build to ready, get, list, logs", { timeout: 600_000 }, async () => {
        tpl = await client.templates.create({ name, dockerfile: DOCKERFILE });
        assert.match(tpl.id, /^tpl_[0-9A-Z]{26}$/);
        assert.equal(tpl.name, name);
        assert.ok(["pending", "building"].includes(tpl.status), tpl.status);
        const { lines, final } = await follow(tpl.id);
        assert.equal(final?.status, "ready", lines.map((l) => l.line).join("\n"));
        assert.ok(lines.some((l) => /Step 2\/4 : RUN mkdir/.test(l.line)), "per-step lines");
        for (const l of lines) {
            assert.equal(typeof l.ts, "string");
            assert.ok(["info", "error"].includes(l.level));
            assert.equal(l.attempt, 1);
        }
        const got = await client.templates.get(tpl.id, { include: "dockerfile" });
        assert.equal(got.status, "ready");
        assert.equal(got.dockerfile, DOCKERFILE);
        assert.equal(got.base, "devbox:1");
        assert.ok(got.ext4_size_bytes > 0);
        assert.equal(typeof got.built_at, "string");
        assert.ok((await client.templates.list()).some((t) => t.id === tpl.id));
        const plain = await client.templates.logs(tpl.id);
        assert.match(plain, /Step 4\/4 : RUN echo/);
    });

    test("a sandbox from the template sees its files and ENV", { timeout: 300_000 }, async () => {
        assert.ok(tpl, "the build test ran first");
        sb = await client.createSandbox({ shape: "s-1vcpu-256mb", rootfs: name },
            { retry: false, timeoutMs: 120_000 });
        const marker = await sb.runCommand("cat", ["/opt/app/marker"]);
        assert.equal(marker.result.stdout, "built-by-hearth\nhello-from-template\n");
        const env = await sb.runCommand("sh", ["-c", "echo $GREETING"]);
        assert.equal(env.result.stdout, "hello-from-template\n");
    });

    test("the same Dockerfile again is all cache hits", { timeout: 300_000 }, async () => {
        again = await client.templates.create({ name: `${name}-again`, dockerfile: DOCKERFILE });
        const { lines, final } = await follow(again.id);
        assert.equal(final?.status, "ready");
        const hits = lines.filter((l) => /Using cache/.test(l.line)).length;
        assert.ok(hits >= 2, lines.map((l) => l.line).join("\n"));
    });

    test("delete: gone for new creates, the name is free", { timeout: 120_000 }, async () => {
        await client.templates.delete(tpl.id);
        await rejectsWith(() => client.createSandbox({ shape: "s-1vcpu-256mb", rootfs: tpl.id },
            { retry: false }), CreateosSandboxNotFoundError);
        await rejectsWith(() => client.templates.get(name), CreateosSandboxNotFoundError);
        tpl = undefined;
    });
});
