// terminal.test.mjs: the sandbox's terminal, files and processes tabs on one running sandbox:
// the terminal shows the guest's output on screen (read from xterm's DOM rows), tells the
// guest its new size when the window shrinks, draws true colour and markup-like output as
// text without a CSP violation; the file browser lists hostile names as text, uploads through
// the file input, downloads the same bytes, refuses an oversized file before sending, makes
// and deletes folders; a managed process shows its live output and exits on TERM. Copy puts
// the terminal's selection on the clipboard and Paste types the clipboard into the shell.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base, launch, newPage, signIn, go, shot, waitForText, api, assertNoProblems, destroyQuietly, VM_MS } from "./common.mjs";

const XSS = "<img src=x onerror=alert(1)>";
let browser;
let sbId;
const tmp = mkdtempSync(join(tmpdir(), "hearth-console-term-"));

before(async () => {
    browser = await launch();
    const sb = await api("POST", "/v1/sandboxes", {
        body: { shape: "s-1vcpu-512mb", rootfs: "devbox:1", name: `console-term-${Date.now().toString(36)}` },
    });
    sbId = sb.id;
    assert.equal(sb.status, "running");
});

after(async () => {
    await destroyQuietly(sbId);
    await browser?.close();
    rmSync(tmp, { recursive: true, force: true });
});

// A page signed in, failing on any alert() and recording it as a problem.
async function openPage() {
    const page = await newPage(browser);
    page.on("dialog", async (d) => {
        page.problems.push(`dialog: ${d.message()}`);
        await d.dismiss();
    });
    await signIn(page);
    return page;
}

// The terminal's screen as text (xterm's DOM renderer: one div per row).
function screenText(page) {
    return page.$eval(".term-screen .xterm-rows", (el) =>
        Array.from(el.children, (row) => row.textContent.replace(/\u00a0/g, " ")).join("\n"));
}

async function waitScreen(page, re, timeout = VM_MS) {
    await page.waitForFunction((src, flags) => {
        const el = document.querySelector(".term-screen .xterm-rows");
        return !!el && new RegExp(src, flags).test(Array.from(el.children, (r) => r.textContent.replace(/\u00a0/g, " ")).join("\n"));
    }, { timeout, polling: 200 }, re.source, re.flags);
    return screenText(page);
}

async function typeLine(page, text) {
    await page.focus(".term-screen .xterm-helper-textarea");
    await page.keyboard.type(text);
    await page.keyboard.press("Enter");
}

test("terminal: output on screen, resize reaches the guest, hostile output is text", { timeout: 4 * VM_MS }, async () => {
    const page = await openPage();
    await go(page, `/sandboxes/${sbId}/terminal`);
    await page.waitForSelector('[data-testid="term-state"][data-state="connected"]', { timeout: VM_MS });
    // the marker only appears as the command's output, not in the echoed command line
    await typeLine(page, "echo term-$((6*7))-marker");
    await waitScreen(page, /term-42-marker/);

    await typeLine(page, "echo S=$(stty size)=E");
    const before1 = (await waitScreen(page, /S=\d+ \d+=E/)).match(/S=(\d+) (\d+)=E/);
    const cols1 = Number(before1[2]);
    assert.ok(cols1 > 40, `columns at 1280 px: ${cols1}`);
    await page.setViewport({ width: 700, height: 860 });
    await page.waitForFunction(() => document.querySelector(".term-screen .xterm-screen").getBoundingClientRect().width < 700);
    await shot(page, "sandbox-terminal-narrow");
    await typeLine(page, "clear; echo T=$(stty size)=E");
    const after1 = (await waitScreen(page, /T=\d+ \d+=E/)).match(/T=(\d+) (\d+)=E/);
    const cols2 = Number(after1[2]);
    assert.ok(cols2 < cols1, `the guest sees fewer columns after the resize: ${cols1} -> ${cols2}`);
    await page.setViewport({ width: 1280, height: 860 });

    // markup in the output is text; true colour is drawn without a CSP violation
    await typeLine(page, `clear; printf '%s\\n' '${XSS}'; printf '\\033[38;2;255;0;0mTRUE\\033[0mCOLOR\\n'`);
    await waitScreen(page, /TRUECOLOR/);
    await waitScreen(page, /^<img src=x onerror=alert\(1\)>\s*$/m);
    assert.equal(await page.$$eval(".term-screen img", (l) => l.length), 0, "no img element in the terminal");
    const red = await page.$$eval(".term-screen .xterm-rows span", (spans) =>
        spans.filter((s) => s.textContent === "TRUE").map((s) => getComputedStyle(s).color));
    assert.ok(red.includes("rgb(255, 0, 0)"), `true colour drawn: ${red}`);
    await shot(page, "sandbox-terminal");

    // typing exit ends the shell; Reconnect opens a new one
    await typeLine(page, "exit");
    await page.waitForSelector('[data-testid="term-state"][data-state="exited"]', { timeout: VM_MS });
    await page.click("#term-reconnect");
    await page.waitForSelector('[data-testid="term-state"][data-state="connected"]', { timeout: VM_MS });
    await typeLine(page, "echo again-$((2+3))");
    await waitScreen(page, /again-5/);
    assertNoProblems(page);
    await page.close();
});

test("terminal: copy a selection and paste through the buttons", { timeout: 4 * VM_MS }, async () => {
    const ctx = browser.defaultBrowserContext();
    await ctx.overridePermissions(base, ["clipboard-read", "clipboard-write", "clipboard-sanitized-write"]);
    const page = await openPage();
    await go(page, `/sandboxes/${sbId}/terminal`);
    await page.waitForSelector('[data-testid="term-state"][data-state="connected"]', { timeout: VM_MS });
    await typeLine(page, "clear; echo copy$((40+2))me");
    await waitScreen(page, /^copy42me\s*$/m);
    // a double click selects the word under the pointer (xterm's own selection, not the
    // page's); Copy puts it on the clipboard
    const at = await page.$$eval(".term-screen .xterm-rows > div", (rows) => {
        const row = rows.find((r) => r.textContent.replace(/\u00a0/g, " ").trim() === "copy42me");
        const b = row.getBoundingClientRect();
        return { x: b.left + 20, y: b.top + b.height / 2 };
    });
    await page.mouse.click(at.x, at.y, { count: 2 });
    await page.click("#term-copy");
    await page.waitForFunction(async () => (await navigator.clipboard.readText()) === "copy42me", { polling: 200 });
    // Paste sends the clipboard's text to the shell as typed input
    await page.evaluate(() => navigator.clipboard.writeText("echo pasted-$((3*3))"));
    await page.click("#term-paste");
    // the click returns before the button's action has read the clipboard: Enter only once the
    // pasted text is on the command line, or it would run an empty line first
    await waitScreen(page, /echo pasted-\$\(\(3\*3\)\)/);
    await page.focus(".term-screen .xterm-helper-textarea");
    await page.keyboard.press("Enter");
    await waitScreen(page, /^pasted-9\s*$/m);
    // nothing selected: Copy says so next to itself
    await page.mouse.click(at.x, at.y);
    await page.click("#term-copy");
    await waitForText(page, "Select some text");
    assertNoProblems(page);
    await page.close();
    await ctx.clearPermissionOverrides();
});

test("files: hostile names as text, upload, download, oversize refused, folders", { timeout: 4 * VM_MS }, async () => {
    await api("POST", `/v1/sandboxes/${sbId}/exec`, {
        body: {
            cmd: "sh",
            args: ["-c", 'mkdir -p /root/ctest && cd /root/ctest && echo hi > "$1" && printf x > "$(printf "line1\\nline2")" && printf y > "$(printf "bad\\377name")"', "sh", `${XSS}.txt`],
        },
    });
    const page = await openPage();
    const puts = [];
    page.on("request", (r) => { if (r.method() === "PUT") puts.push(r.url()); });
    await go(page, `/sandboxes/${sbId}/files`);
    await page.waitForSelector('[data-testid="files-list"] table', { timeout: VM_MS });
    await page.$eval("#files-path", (el) => { el.value = ""; });
    await page.type("#files-path", "/root/ctest");
    await page.click("#files-go");
    await waitForText(page, `${XSS}.txt`, { selector: '[data-testid="files-list"]' });
    await waitForText(page, "line1\nline2", { selector: '[data-testid="files-list"]' });
    await waitForText(page, "not UTF-8", { selector: '[data-testid="files-list"]' });
    assert.equal(await page.$$eval("main img", (l) => l.length), 0, "no img element");

    // upload through the file input
    const bytes = Buffer.alloc(300 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 9)) & 0xff;
    const local = join(tmp, "up-load.bin");
    writeFileSync(local, bytes);
    const input = await page.$("#files-upload");
    await input.uploadFile(local);
    await page.waitForFunction(() => Array.from(document.querySelectorAll('[data-testid="files-list"] tr'))
        .some((tr) => tr.dataset.key === "up-load.bin"), { timeout: VM_MS });
    const stored = await fetch(`${process.env.CREATEOS_SANDBOX_BASE_URL}/v1/sandboxes/${sbId}/files?path=/root/ctest/up-load.bin`,
        { headers: { "X-Api-Key": process.env.CREATEOS_SANDBOX_API_KEY } });
    assert.ok(Buffer.from(await stored.arrayBuffer()).equals(bytes), "uploaded bytes stored");
    assert.equal(puts.length, 1);

    // download it into a directory through the browser
    const dl = join(tmp, "downloads");
    const cdp = await page.target().createCDPSession();
    await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: dl, eventsEnabled: true });
    await page.evaluate(() => {
        const tr = Array.from(document.querySelectorAll('[data-testid="files-list"] tr')).find((t) => t.dataset.key === "up-load.bin");
        tr.querySelector('[data-testid="files-download"]').click();
    });
    const end = Date.now() + VM_MS;
    while (!(existsSync(join(dl, "up-load.bin")) && readdirSync(dl).every((f) => !f.endsWith(".crdownload")))) {
        if (Date.now() > end) throw new Error("no download");
        await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(readFileSync(join(dl, "up-load.bin")).equals(bytes), "downloaded bytes are the file's");

    // a file over the API's limit is refused before anything is sent (a File whose size says
    // 3 GiB, dropped on the drop zone)
    await page.evaluate(() => {
        const f = new File(["small"], "huge.iso");
        Object.defineProperty(f, "size", { value: 3 * 1024 ** 3 });
        const ev = new Event("drop", { bubbles: true, cancelable: true });
        Object.defineProperty(ev, "dataTransfer", { value: { files: [f] } });
        document.querySelector('[data-testid="files-drop"]').dispatchEvent(ev);
    });
    await waitForText(page, "largest upload", { selector: ".files-upload" });
    assert.equal(puts.length, 1, "nothing sent for the oversized file");

    // new folder, then delete it after a confirmation
    await page.type("#files-newdir", "made-here");
    await page.click("#files-mkdir");
    const rowSel = (key) => page.waitForFunction((k) => Array.from(document.querySelectorAll('[data-testid="files-list"] tr'))
        .some((tr) => tr.dataset.key === k), { timeout: VM_MS }, key);
    await rowSel("made-here");
    await shot(page, "sandbox-files");
    await page.setViewport({ width: 390, height: 844 });
    await shot(page, "sandbox-files-phone");
    await page.setViewport({ width: 1280, height: 860 });
    await page.evaluate(() => {
        const tr = Array.from(document.querySelectorAll('[data-testid="files-list"] tr')).find((t) => t.dataset.key === "made-here");
        tr.querySelector('[data-testid="files-delete"]').click();
    });
    await page.waitForSelector('[data-testid="confirm-ok"]');
    await page.click('[data-testid="confirm-ok"]');
    await page.waitForFunction(() => !Array.from(document.querySelectorAll('[data-testid="files-list"] tr'))
        .some((tr) => tr.dataset.key === "made-here"), { timeout: VM_MS });
    const gone = await api("POST", `/v1/sandboxes/${sbId}/exec`, { body: { cmd: "test", args: ["-e", "/root/ctest/made-here"] } });
    assert.equal(gone.result.exit_code, 1, "the folder is gone in the guest");
    assertNoProblems(page);
    await page.close();
});

test("processes: start, live output, TERM, exit code", { timeout: 4 * VM_MS }, async () => {
    const page = await openPage();
    await go(page, `/sandboxes/${sbId}/processes`);
    await page.type("#proc-cmd", "sh");
    await page.type("#proc-args", "-c");
    await page.keyboard.press("Enter");
    await page.type("#proc-args", `echo proc-out; echo '${XSS}'; sleep 30`);
    await page.click("#proc-start");
    await waitForText(page, "proc-out", { selector: '[data-testid="proc-output"]', timeout: VM_MS });
    await waitForText(page, XSS, { selector: '[data-testid="proc-output"]' });
    assert.equal(await page.$$eval("main img", (l) => l.length), 0, "no img element");
    await waitForText(page, "running", { selector: '[data-testid="proc-list"]', timeout: VM_MS });
    await shot(page, "sandbox-processes");
    await page.setViewport({ width: 390, height: 844 });
    await shot(page, "sandbox-processes-phone");
    await page.setViewport({ width: 1280, height: 860 });
    await page.click('[data-testid="proc-sigterm"]');
    await waitForText(page, /Exited with code 143/, { selector: '[data-testid="proc-stream"]', timeout: VM_MS });
    await waitForText(page, "exited", { selector: '[data-testid="proc-list"]', timeout: VM_MS });
    assertNoProblems(page);
    await page.close();
});

test("the tabs say so when the sandbox is not running", { timeout: 4 * VM_MS }, async () => {
    await api("POST", `/v1/sandboxes/${sbId}/pause`);
    const page = await openPage();
    await go(page, `/sandboxes/${sbId}/terminal`);
    await waitForText(page, "needs a running sandbox", { timeout: VM_MS });
    await go(page, `/sandboxes/${sbId}/files`);
    await waitForText(page, "need a running sandbox", { timeout: VM_MS });
    assertNoProblems(page);
    await page.close();
});
