// disks.test.mjs: S3 disks (docs/disks.md) through the official SDK, unchanged and only through
// its public API: client.disks.create / list / get / rotateCredentials / delete and a sandbox's
// attachDisk / listDisks / detachDisk, against the s3rver that tests/compat/run.sh starts where
// both hearthd (the bucket check) and the guest (s3fs) reach it (tests/s3/s3inet.sh). A file
// written in the guest is read back from the bucket on the host. Credentials never come back.
// Skipped, with the reason, when run.sh could not start the S3 server.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, describe, test } from "node:test";

import { destroyQuietly, loadSdk, rejectsWith } from "./common.mjs";

const { CreateosSandboxClient, CreateosSandboxNotFoundError, CreateosSandboxValidationError } =
    await loadSdk();
const BASE = process.env.CREATEOS_SANDBOX_BASE_URL;
assert.ok(BASE && new URL(BASE).hostname === "127.0.0.1", `base URL must be 127.0.0.1: ${BASE}`);
const S3 = process.env.HEARTH_COMPAT_S3_URL;
const BUCKET = process.env.HEARTH_COMPAT_S3_BUCKET;
const skip = S3 ? false : `no S3 server: ${process.env.HEARTH_COMPAT_S3_SKIP ?? "not started"}`;
const client = new CreateosSandboxClient();

// An object of the bucket, read on the host with SigV4 as S3RVER (not through hearth).
function s3Get(key) {
    return execFileSync("curl", ["-sf", "-m", "30", "--aws-sigv4", "aws:amz:us-east-1:s3",
        "-u", "S3RVER:S3RVER", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
        `${S3}/${BUCKET}/${key}`], { encoding: "utf8" });
}

describe("S3 disks through the SDK", { skip }, () => {
    const suffix = Date.now().toString(36);
    const name = `compat-disk-${suffix}`;
    let disk, sb;

    after(async () => {
        await destroyQuietly(sb);
        if (disk) {
            try {
                await client.disks.delete(disk.id);
            } catch {
                // only cleanup
            }
        }
    });

    test("create, list, get, rotate; a failed bucket check is a validation error", async () => {
        const request = { name, kind: "s3",
            config: { bucket: BUCKET, endpoint: S3, use_path_style: true },
            credentials: { access_key: "S3RVER", secret_key: "S3RVER" } };
        disk = await client.disks.create(request);
        assert.match(disk.id, /^disk_[0-9A-Z]{26}$/);
        assert.equal(disk.name, name);
        assert.equal(disk.kind, "s3");
        assert.deepEqual(disk.config, { bucket: BUCKET, endpoint: S3, use_path_style: true });
        assert.ok(!JSON.stringify(disk).includes("S3RVER"), "credentials came back");
        assert.ok((await client.disks.list()).some((d) => d.id === disk.id));
        assert.equal((await client.disks.get(name)).id, disk.id);
        const rotated = await client.disks.rotateCredentials(disk.id,
            { access_key: "S3RVER", secret_key: "S3RVER" });
        assert.equal(rotated.id, disk.id);
        const bad = await rejectsWith(() => client.disks.create({ ...request, name: `${name}-x`,
            credentials: { access_key: "NOBODY", secret_key: "x" } }),
            CreateosSandboxValidationError);
        assert.equal(bad.statusCode, 400);
        await rejectsWith(() => client.disks.get(`${name}-x`), CreateosSandboxNotFoundError);
    });

    test("attachDisk, listDisks until mounted, write in the guest, detachDisk, delete",
        async () => {
            assert.ok(disk, "no disk from the first test");
            sb = await client.createSandbox({ shape: "s-1vcpu-512mb", rootfs: "devbox:1",
                name: `compat-dk-${suffix}` }, { retry: false, timeoutMs: 120_000 });
            const ok = await sb.attachDisk({ diskId: name, mountPath: "/mnt/data",
                subPath: "compat" });
            assert.equal(ok.ok, true);
            let mounts = [];
            const deadline = Date.now() + 120_000;
            for (;;) {
                mounts = await sb.listDisks();
                const st = mounts[0]?.mount_status;
                if (st === "mounted") break;
                assert.notEqual(st, "error", mounts[0]?.mount_error);
                assert.ok(Date.now() < deadline, `not mounted: ${JSON.stringify(mounts)}`);
                await new Promise((r) => setTimeout(r, 250));
            }
            assert.equal(mounts.length, 1);
            assert.equal(mounts[0].disk_id, disk.id);
            assert.equal(mounts[0].mount_path, "/mnt/data");
            assert.equal(mounts[0].sub_path, "compat");
            const busy = await rejectsWith(() => client.disks.delete(disk.id),
                CreateosSandboxValidationError);
            assert.equal(busy.statusCode, 409);

            const w = await sb.runCommand("sh", ["-c",
                "printf 'written through the SDK' >/mnt/data/sdk.txt && sync"]);
            assert.equal(w.result.exit_code, 0, w.result.stderr);
            let got = "";
            for (let i = 0; i < 50 && got === ""; i++) {
                try {
                    got = s3Get("compat/sdk.txt");
                } catch {
                    await new Promise((r) => setTimeout(r, 200));
                }
            }
            assert.equal(got, "written through the SDK");

            const det = await sb.detachDisk({ diskId: name, mountPath: "/mnt/data" });
            assert.equal(det.detached, true);
            // the unmount runs in the background: `unmounting`, then the row is removed
            const gone = Date.now() + 60_000;
            for (;;) {
                mounts = await sb.listDisks();
                if (mounts.length === 0) break;
                assert.equal(mounts[0].mount_status, "unmounting");
                assert.ok(Date.now() < gone, `still listed: ${JSON.stringify(mounts)}`);
                await new Promise((r) => setTimeout(r, 250));
            }
            const again = await sb.detachDisk({ diskId: name, mountPath: "/mnt/data" });
            assert.equal(again.detached, false);
            const del = await client.disks.delete(disk.id);
            assert.equal(del.deleted, true);
            await rejectsWith(() => client.disks.get(disk.id), CreateosSandboxNotFoundError);
            disk = undefined;
            // the bucket is untouched
            assert.equal(s3Get("compat/sdk.txt"), "written through the SDK");
        });
});
