// pages.test.mjs: the templates, template, networks and disks pages (docs/console.md
// "Templates", "Networks", "Disks"). A small template is built through the form and its build
// log followed live to ready on its page, a sandbox is created from it there, and it is deleted;
// a bad Dockerfile's 400 (naming its line) is shown next to the textarea; markup in a Dockerfile
// and in the build log stays text; a network is created, listed, shown and deleted; an S3 disk
// is added, its credentials rotated and it is deleted (when the harness has an S3 server).
// Any alert/confirm/prompt dialog fails the test (the console uses <dialog>, never those).
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, truncateSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, newPage, signIn, go, shot, waitForText, assertNoProblems, api, destroyQuietly,
    VM_MS } from "./common.mjs";

const XSS = "<img src=x onerror=alert(1)>";
const suffix = Date.now().toString(36);
const S3 = process.env.HEARTH_COMPAT_S3_URL;
const BUCKET = process.env.HEARTH_COMPAT_S3_BUCKET;

const dir = mkdtempSync(join(tmpdir(), "console-pages-"));

// A one-file ustar archive (the build context of the template test).
function tarOf(name, text) {
    const data = Buffer.from(text);
    const hdr = Buffer.alloc(512);
    const put = (off, len, v) => hdr.write(v, off, len, "ascii");
    put(0, 100, name);
    put(100, 8, "0000644\0");
    put(108, 8, "0000000\0");
    put(116, 8, "0000000\0");
    put(124, 12, `${data.length.toString(8).padStart(11, "0")}\0`);
    put(136, 12, `${Math.floor(Date.now() / 1000).toString(8).padStart(11, "0")}\0`);
    put(148, 8, "        ");
    put(156, 1, "0");
    put(257, 6, "ustar\0");
    put(263, 2, "00");
    let sum = 0;
    for (const b of hdr) sum += b;
    put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
    const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
    return Buffer.concat([hdr, data, pad, Buffer.alloc(1024)]);
}

let browser;
let tplId;
let sbId;
before(async () => { browser = await launch(); });
after(async () => {
    await destroyQuietly(sbId);
    if (tplId) await api("DELETE", `/v1/templates/${tplId}`).catch(() => {});
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
});

// A page signed in as the user; native dialogs are failures.
async function page() {
    const p = await newPage(browser);
    p.on("dialog", async (d) => {
        p.problems.push(`dialog: ${d.type()} ${d.message()}`);
        await d.dismiss();
    });
    await signIn(p);
    return p;
}

// The text of the error slot next to a control (ui.showError puts it right after it).
async function errorNextTo(p, selector) {
    await p.waitForFunction((s) => {
        const e = document.querySelector(s)?.nextElementSibling;
        return e && e.classList.contains("error") && !e.hidden && e.textContent.length > 0;
    }, {}, selector);
    return p.$eval(selector, (el) => el.nextElementSibling.textContent);
}

async function setValue(p, selector, value) {
    await p.$eval(selector, (el, v) => { el.value = v; el.dispatchEvent(new Event("input")); }, value);
}

async function noImages(p) {
    assert.equal(await p.$$eval("main img, body > img", (l) => l.length), 0, "markup became an element");
}

describe("templates", () => {
    test("a bad Dockerfile's 400 names its line next to the textarea", async () => {
        const p = await page();
        await go(p, "/templates");
        await p.waitForSelector("[data-testid=templates-list] table");
        await shot(p, "templates");
        await p.type("#tpl-name", `console-bad-${suffix}`);
        await setValue(p, "#tpl-dockerfile", "FROM minimal\nRUN true\nFROM minimal\n");
        await p.click("#tpl-submit");
        const msg = await errorNextTo(p, "#tpl-dockerfile");
        assert.match(msg, /line 3/);
        // an unknown instruction, and the name rule checked before sending
        await setValue(p, "#tpl-dockerfile", "FROM minimal\nFROBNICATE now\n");
        await p.click("#tpl-submit");
        await p.waitForFunction(() => /line 2/.test(document.querySelector("#tpl-dockerfile").nextElementSibling.textContent));
        await shot(p, "template-bad-dockerfile");
        await setValue(p, "#tpl-name", "Bad Name!");
        await p.click("#tpl-submit");
        assert.match(await errorNextTo(p, "#tpl-name"), /lower-case/);
        assert.equal((await api("GET", "/v1/templates")).data.filter((t) => t.name.startsWith("console-bad")).length, 0);
        assertNoProblems(p);
        await p.close();
    });

    test("build through the form, follow the live log to ready, markup stays text, create a sandbox, delete",
        { timeout: 4 * VM_MS }, async () => {
            const p = await page();
            await go(p, "/templates");
            const name = `console-tpl-${suffix}`;
            await p.type("#tpl-name", name);
            await setValue(p, "#tpl-dockerfile",
                `FROM minimal\nCOPY hello.txt /hello.txt\nRUN echo built > /built.txt\nRUN echo '${XSS}'\n`);
            // an archive over the limit is refused before sending (a sparse file)
            const big = join(dir, "big.tar");
            writeFileSync(big, "");
            truncateSync(big, 257 * 1024 * 1024);
            const input = await p.$("#tpl-context");
            await input.uploadFile(big);
            await p.click("#tpl-submit");
            assert.match(await errorNextTo(p, "#tpl-context"), /at most 256 MiB/);
            const ctx = join(dir, "ctx.tar");
            writeFileSync(ctx, tarOf("hello.txt", "hello from the context\n"));
            await input.uploadFile(ctx);
            await p.click("#tpl-submit");
            await p.waitForFunction(() => /^\/templates\/tpl_/.test(document.querySelector("main")?.dataset.route || ""));
            tplId = await p.evaluate(() => document.querySelector("main").dataset.route.split("/")[2]);
            await waitForText(p, "Build finished", { selector: "#tpl-log-state", timeout: 2 * VM_MS });
            await waitForText(p, "ready", { selector: "[data-testid=template-status]", timeout: 10_000 });
            await waitForText(p, "Step 2/", { selector: "#tpl-log" });
            await waitForText(p, XSS, { selector: "#tpl-log" });
            await waitForText(p, XSS, { selector: "#tpl-dockerfile-src" });
            await noImages(p);
            await shot(p, "template-build-log");
            // the list shows it ready
            await go(p, "/templates");
            await p.waitForSelector(`tr[data-key="${tplId}"]`);
            await waitForText(p, "ready", { selector: `tr[data-key="${tplId}"]` });
            // a sandbox from it (a restore of its snapshot)
            await go(p, `/templates/${tplId}`);
            await p.waitForFunction(() => !document.querySelector("#tpl-create-sb").disabled);
            const shapes = await p.$$eval("#tpl-sb-shape option", (o) => o.map((x) => x.value));
            if (shapes.includes("s-1vcpu-256mb")) await p.select("#tpl-sb-shape", "s-1vcpu-256mb");
            await p.click("#tpl-create-sb");
            await p.waitForFunction(() => /^\/sandboxes\/sb-/.test(document.querySelector("main")?.dataset.route || ""),
                { timeout: VM_MS });
            sbId = await p.evaluate(() => document.querySelector("main").dataset.route.split("/")[2]);
            const sb = await api("GET", `/v1/sandboxes/${sbId}`);
            assert.equal(sb.rootfs, tplId);
            const run = await api("POST", `/v1/sandboxes/${sbId}/exec`,
                { body: { cmd: "cat", args: ["/hello.txt", "/built.txt"] } });
            assert.equal(run.result.stdout, "hello from the context\nbuilt\n");
            // the sandbox stays for the network and disk tests (one VM for the file)
            // delete through the page
            await go(p, `/templates/${tplId}`);
            await p.click("#tpl-delete");
            await p.waitForSelector("[data-testid=confirm-ok]");
            await p.click("[data-testid=confirm-ok]");
            await p.waitForFunction(() => document.querySelector("main")?.dataset.route === "/templates");
            await assert.rejects(api("GET", `/v1/templates/${tplId}`), (e) => e.status === 404);
            tplId = null;
            assertNoProblems(p);
            await p.close();
        });

    test("a template name with markup is refused before sending; the pages fit a phone", async () => {
        const p = await page();
        await p.setViewport({ width: 390, height: 844 });
        await go(p, "/templates");
        await p.type("#tpl-name", XSS);
        await setValue(p, "#tpl-dockerfile", "FROM minimal\n");
        await p.click("#tpl-submit");
        await errorNextTo(p, "#tpl-name");
        await noImages(p);
        await shot(p, "templates-phone");
        for (const route of ["/templates", "/networks", "/disks"]) {
            await go(p, route);
            const wide = await p.evaluate(() => document.documentElement.scrollWidth);
            assert.ok(wide <= 400, `${route} is ${wide} px wide at 390`);
            if (route !== "/templates") await shot(p, `${route.slice(1)}-phone`);
        }
        assertNoProblems(p);
        await p.close();
    });
});

test("networks: create, listed, members, a taken name next to the field, delete", async () => {
    const p = await page();
    await go(p, "/networks");
    const name = `console-net-${suffix}`;
    await p.type("#net-name", "net-bad");
    await p.click("#net-create");
    assert.match(await errorNextTo(p, "#net-name"), /net-/);
    await setValue(p, "#net-name", name);
    await p.click("#net-create");
    await waitForText(p, name, { selector: "[data-testid=networks-list]" });
    const net = (await api("GET", "/v1/networks")).data.find((n) => n.name === name);
    assert.ok(net, "the network exists");
    await p.type("#net-name", name);
    await p.click("#net-create");
    assert.match(await errorNextTo(p, "#net-name"), /in use/);
    if (sbId) await api("POST", `/v1/sandboxes/${sbId}/networks`, { body: { id: net.id } });
    await go(p, "/sandboxes");
    await go(p, "/networks");
    await p.click(`tr[data-key="${net.id}"] [data-testid=net-members]`);
    await waitForText(p, `Members of ${name}`, { selector: "#net-members" });
    if (sbId) {
        await p.waitForSelector(`#net-members tr[data-key="${sbId}"] a[href="#/sandboxes/${sbId}"]`);
        // a network with a member is not deleted: the 409 is next to the button
        await p.click(`tr[data-key="${net.id}"] [data-testid=net-delete]`);
        await p.click("[data-testid=confirm-ok]");
        assert.match(await errorNextTo(p, `tr[data-key="${net.id}"] [data-testid=net-delete]`), /member/);
    }
    await shot(p, "networks");
    if (sbId) await api("DELETE", `/v1/sandboxes/${sbId}/networks/${net.id}`);
    await p.click(`tr[data-key="${net.id}"] [data-testid=net-delete]`);
    await p.click("[data-testid=confirm-ok]");
    await p.waitForFunction((id) => !document.querySelector(`tr[data-key="${id}"]`), {}, net.id);
    assert.ok(!(await api("GET", "/v1/networks")).data.some((n) => n.id === net.id));
    assertNoProblems(p);
    await p.close();
});

test("disks: add one (credentials never shown back), rotate, delete",
    { skip: S3 ? false : `no S3 server: ${process.env.HEARTH_COMPAT_S3_SKIP ?? "not started"}` }, async () => {
        const p = await page();
        await go(p, "/disks");
        await p.waitForSelector("#disk-name");
        const name = `console-disk-${suffix}`;
        await p.type("#disk-name", name);
        await p.type("#disk-bucket", BUCKET);
        await p.type("#disk-endpoint", S3);
        await p.click("#disk-path-style");
        await p.type("#disk-access-key", "NOBODY");
        await p.type("#disk-secret-key", "x");
        await p.click("#disk-create");
        // the bucket check fails with the wrong secret: shown next to a field, nothing stored
        await p.waitForFunction(() => [...document.querySelectorAll("#disk-form .error")].some((e) => !e.hidden && /bucket check failed|denied/i.test(e.textContent)),
            { timeout: 20_000 });
        await setValue(p, "#disk-access-key", "S3RVER");
        await setValue(p, "#disk-secret-key", "S3RVER");
        await p.click("#disk-create");
        await waitForText(p, name, { selector: "[data-testid=disks-list]", timeout: 20_000 });
        const disk = (await api("GET", "/v1/disks")).data.find((d) => d.name === name);
        assert.ok(disk);
        assert.equal(await p.$eval("#disk-secret-key", (e) => e.value), "", "the secret field is cleared");
        assert.ok(!(await p.evaluate(() => document.body.innerText)).includes("S3RVER"), "a credential is shown");
        if (sbId) {
            // "Mounted in" shows the sandbox mounting it (minimal has no s3fs: the mount's
            // status is error, the mount is still recorded), and delete is refused with 409
            await api("POST", `/v1/sandboxes/${sbId}/disks`, { body: { disk_id: disk.id, mount_path: "/mnt/data" } });
            await go(p, "/sandboxes");
            await go(p, "/disks");
            await p.waitForSelector(`tr[data-key="${disk.id}"] a[href="#/sandboxes/${sbId}/disks"]`);
            await waitForText(p, "/mnt/data", { selector: `tr[data-key="${disk.id}"]` });
            await p.click(`tr[data-key="${disk.id}"] [data-testid=disk-delete]`);
            await p.click("[data-testid=confirm-ok]");
            assert.match(await errorNextTo(p, `tr[data-key="${disk.id}"] [data-testid=disk-delete]`), /attached/);
        }
        await shot(p, "disks");
        await p.click(`tr[data-key="${disk.id}"] [data-testid=disk-rotate]`);
        await p.waitForSelector("#rotate-access-key");
        await p.type("#rotate-access-key", "S3RVER");
        await p.type("#rotate-secret-key", "S3RVER");
        await shot(p, "disk-rotate");
        await p.click("#rotate-save");
        await waitForText(p, "Rotated the credentials", { selector: "#disk-note", timeout: 20_000 });
        if (sbId) {
            await destroyQuietly(sbId); // its mounts go as its destroy starts
            sbId = null;
        }
        await p.click(`tr[data-key="${disk.id}"] [data-testid=disk-delete]`);
        await p.click("[data-testid=confirm-ok]");
        await p.waitForFunction((id) => !document.querySelector(`tr[data-key="${id}"]`), {}, disk.id);
        await assert.rejects(api("GET", `/v1/disks/${disk.id}`), (e) => e.status === 404);
        assertNoProblems(p);
        await p.close();
    });
