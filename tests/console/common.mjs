// common.mjs: what the browser tests share (not a test file: node --test runs *.test.mjs).
// Debian's chromium (HEARTH_CHROMIUM) driven by puppeteer-core from the suite's installed
// packages (HEARTH_SUITE_MODULES), the hearthd the harness started (CREATEOS_SANDBOX_BASE_URL)
// and its keys: CREATEOS_SANDBOX_API_KEY (user "compat"), HEARTH_COMPAT_ADMIN_KEY (admin),
// HEARTH_COMPAT_LIST_KEY (a user with HEARTH_COMPAT_LIST_ROWS stored sandboxes).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const base = process.env.CREATEOS_SANDBOX_BASE_URL;
export const userKey = process.env.CREATEOS_SANDBOX_API_KEY;
export const adminKey = process.env.HEARTH_COMPAT_ADMIN_KEY;
export const listKey = process.env.HEARTH_COMPAT_LIST_KEY;
export const shots = process.env.HEARTH_SCREENSHOTS || "/tmp/hearth-console-screenshots";
// VM tests allow this much for a page to show what a VM did (TCG on two cores is slow)
export const VM_MS = 120_000;

let puppeteer;
async function loadPuppeteer() {
    if (puppeteer) return puppeteer;
    const dir = process.env.HEARTH_SUITE_MODULES;
    let url = "puppeteer-core";
    if (dir) {
        const pkgDir = join(dir, "puppeteer-core");
        const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
        url = pathToFileURL(join(pkgDir, pkg.exports["."].import)).href;
    }
    puppeteer = (await import(url)).default;
    return puppeteer;
}

// A headless chromium; close it in an after() hook.
export async function launch() {
    const p = await loadPuppeteer();
    return p.launch({
        executablePath: process.env.HEARTH_CHROMIUM || "/usr/bin/chromium",
        headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--no-proxy-server", "--disable-dev-shm-usage",
               "--window-size=1280,860"],
        defaultViewport: { width: 1280, height: 860 },
        protocolTimeout: 180_000,
    });
}

// A new page that records page errors and Content-Security-Policy violations in page.problems
// (assertNoProblems checks them).
export async function newPage(browser) {
    const page = await browser.newPage();
    page.problems = [];
    page.on("pageerror", (e) => page.problems.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
        const t = m.text();
        if (/Content.Security.Policy|Refused to/i.test(t)) page.problems.push(`csp: ${t}`);
    });
    page.setDefaultTimeout(30_000);
    return page;
}

export function assertNoProblems(page) {
    assert.deepEqual(page.problems, [], "page errors or CSP violations");
}

// Opens the console and signs in with key through the sign-in form; resolves once the
// navigation is shown.
export async function signIn(page, key = userKey) {
    await page.goto(`${base}/`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector("#signin-key");
    await page.type("#signin-key", key);
    await page.click("#signin-submit");
    await page.waitForSelector("nav.app-nav");
}

// Goes to a console route (e.g. "/sandboxes/sbx_…/terminal") and waits for the page's
// main element to say it rendered (data-page on <main>).
export async function go(page, route) {
    await page.evaluate((r) => { location.hash = `#${r}`; }, route);
    await page.waitForFunction((r) => document.querySelector("main")?.dataset.route === r, {}, route);
}

// Saves a full-page screenshot as NAME.png in the screenshot directory.
export async function shot(page, name) {
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

// Waits until the page's visible text contains text (a string or RegExp).
export async function waitForText(page, text, { timeout = 30_000, selector = "body" } = {}) {
    const src = text instanceof RegExp ? { re: text.source, flags: text.flags } : { s: text };
    await page.waitForFunction((sel, t) => {
        const el = document.querySelector(sel);
        if (!el) return false;
        const v = el.innerText;
        return t.s !== undefined ? v.includes(t.s) : new RegExp(t.re, t.flags).test(v);
    }, { timeout, polling: 100 }, selector, src);
}

// The REST API directly, for setup and checks: JSend data on success, else throws with the
// status and body.
export async function api(method, path, { key = userKey, body, raw } = {}) {
    const headers = { "X-Api-Key": key };
    let payload;
    if (raw !== undefined) {
        payload = raw;
        headers["Content-Type"] = "application/octet-stream";
    } else if (body !== undefined) {
        payload = JSON.stringify(body);
        headers["Content-Type"] = "application/json";
    }
    const r = await fetch(`${base}${path}`, { method, headers, body: payload });
    const text = await r.text();
    let j;
    try { j = JSON.parse(text); } catch { j = undefined; }
    if (!r.ok) {
        const e = new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
        e.status = r.status;
        e.body = j;
        throw e;
    }
    return j && j.status === "success" ? j.data : (j ?? text);
}

// Polls GET /v1/sandboxes/{id} until its status is want.
export async function waitStatus(id, want, { key = userKey, timeout = VM_MS } = {}) {
    const end = Date.now() + timeout;
    for (;;) {
        const sb = await api("GET", `/v1/sandboxes/${id}`, { key });
        if (sb.status === want) return sb;
        if (Date.now() > end) throw new Error(`sandbox ${id}: ${sb.status}, want ${want}`);
        await new Promise((r) => setTimeout(r, 200));
    }
}

// Destroys a sandbox; errors are ignored (cleanup only).
export async function destroyQuietly(id, key = userKey) {
    if (!id) return;
    try { await api("DELETE", `/v1/sandboxes/${id}`, { key }); } catch { /* cleanup */ }
}
