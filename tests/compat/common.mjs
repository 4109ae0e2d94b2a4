// common.mjs: what the SDK suites share (not a test file: node --test runs *.test.mjs): the SDK
// loaded from the installed package run.sh names (HEARTH_COMPAT_SDK), unchanged, a typed
// rejection check and a quiet destroy for cleanups.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export async function loadSdk() {
    const dir = process.env.HEARTH_COMPAT_SDK;
    if (!dir) return import("@nodeops-createos/sandbox");
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const entry = pkg.exports?.["."]?.import ?? pkg.main;
    return import(pathToFileURL(join(dir, entry)).href);
}

// Asserts that fn rejects with an instance of cls and returns the error.
export async function rejectsWith(fn, cls) {
    let err;
    try {
        await fn();
    } catch (e) {
        err = e;
    }
    assert.ok(err, `expected ${cls.name}, got success`);
    if (!(err instanceof cls)) {
        throw new assert.AssertionError({
            message: `expected ${cls.name}, got ${err?.name}: ${err?.message}`,
            actual: err,
            expected: cls,
        });
    }
    return err;
}

// Destroys sb (if any) and waits for it; errors are ignored: only cleanup.
export async function destroyQuietly(sb) {
    if (!sb) return;
    try {
        await sb.destroy();
        await sb.waitUntilDestroyed({ timeoutMs: 60_000 });
    } catch {
        // only cleanup
    }
}
