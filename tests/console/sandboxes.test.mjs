// sandboxes.test.mjs: the sandbox list, the create form, the header's lifecycle actions and the
// overview (docs/console.md "Sandboxes: list, create, actions"). One VM for the whole file:
// created through the form, paused, forked (the child stays paused: no second VM), resumed,
// shown with hostile text in what it controls, then destroyed through the confirm dialog.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
    listKey, userKey, shots, VM_MS, launch, newPage, signIn, go, shot, waitForText, api, waitStatus,
    destroyQuietly, assertNoProblems,
} from "./common.mjs";

const ROWS = Number(process.env.HEARTH_COMPAT_LIST_ROWS || 1234);
const NAME = `console-list-${process.pid}`;
let browser;
let page; // the user's page, signed in once
let sbId;
let childId;
let netId;

before(async () => {
    browser = await launch();
});
after(async () => {
    await destroyQuietly(childId);
    await destroyQuietly(sbId);
    if (netId) await api("DELETE", `/v1/networks/${netId}`).catch(() => {});
    await browser?.close();
});

const rowCount = (p) => p.$$eval("#sandboxes-table tbody tr[data-testid=sandbox-row]", (r) => r.length);
const summary = (p) => p.$eval("#sandboxes-summary", (e) => e.textContent);
const badge = (p) => p.$eval(".title-line .badge", (e) => e.textContent);

async function waitBadge(p, want, timeout = VM_MS) {
    await p.waitForFunction((w) => document.querySelector(".title-line .badge")?.textContent === w,
        { timeout, polling: 200 }, want);
}

test("the list shows one page of 1234 rows, its total, and pages", async () => {
    const p = await newPage(browser);
    await signIn(p, listKey);
    await go(p, "/sandboxes");
    assert.equal(await rowCount(p), 50, "one page of rows, never all of them");
    assert.match(await summary(p), new RegExp(`^1–50 of ${ROWS}`));
    assert.equal(await p.$eval("#sandboxes-table", (t) => t.dataset.total), String(ROWS));
    // newest first: the page's rows are the API's first page, in its order
    const first = await api("GET", "/v1/sandboxes?limit=50", { key: listKey });
    const ids = await p.$$eval("#sandboxes-table tbody tr", (r) => r.map((x) => x.dataset.key));
    assert.deepEqual(ids, first.data.map((s) => s.id));
    await shot(p, "sandboxes-list");
    assert.equal(await p.$eval("#sandboxes-prev", (b) => b.disabled), true);

    await p.click("#sandboxes-next");
    await p.waitForFunction(() => document.querySelector("#sandboxes-table").dataset.offset === "50");
    assert.match(await summary(p), new RegExp(`^51–100 of ${ROWS}`));
    const second = await api("GET", "/v1/sandboxes?limit=50&offset=50", { key: listKey });
    assert.equal(await p.$eval("#sandboxes-table tbody tr", (r) => r.dataset.key), second.data[0].id);
    await p.click("#sandboxes-prev");
    await p.waitForFunction(() => document.querySelector("#sandboxes-table").dataset.offset === "0");

    // the status filter asks the server; the total is the filtered one
    const paused = await api("GET", "/v1/sandboxes?status=paused&limit=1", { key: listKey });
    await p.select("#sandboxes-status", "paused");
    await p.waitForFunction((n) => document.querySelector("#sandboxes-table").dataset.total === String(n),
        {}, paused.pagination.total);
    const statuses = await p.$$eval("#sandboxes-table tbody .col-status", (c) => [...new Set(c.map((x) => x.textContent))]);
    assert.deepEqual(statuses, ["paused"]);

    // the name/id filter works on the loaded page only, and says so
    const one = await p.$eval("#sandboxes-table tbody tr", (r) => r.dataset.key);
    await p.type("#sandboxes-filter", one.slice(-8));
    await p.waitForFunction(() => document.querySelectorAll("#sandboxes-table tbody tr[data-testid=sandbox-row]").length === 1);
    await waitForText(p, "hidden by the name filter", { selector: "#sandboxes-summary" });
    await shot(p, "sandboxes-list-filtered");
    // the poll keeps the focus in the filter box
    await p.focus("#sandboxes-filter");
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await p.evaluate(() => document.activeElement.id), "sandboxes-filter");
    await p.$eval("#sandboxes-filter", (i) => { i.value = ""; i.dispatchEvent(new Event("input")); });
    await p.select("#sandboxes-status", "");
    await p.waitForFunction((n) => document.querySelector("#sandboxes-table").dataset.total === String(n), {}, ROWS);
    // a phone: the rows fold into cards
    await p.setViewport({ width: 390, height: 844 });
    await p.screenshot({ path: join(shots, "sandboxes-list-phone.png") }); // the first screen only
    assertNoProblems(p);
    await p.close();
});

test("names the API refuses are refused by the form before sending", async () => {
    // §1.9: sandbox names are [A-Za-z0-9_.-]: no markup can come through a name
    await assert.rejects(api("POST", "/v1/sandboxes", { body: { shape: "s-1vcpu-256mb", name: "<img src=x>" } }),
        (e) => e.status === 400);
    page = await newPage(browser);
    page.on("dialog", (d) => { page.problems.push(`dialog: ${d.message()}`); d.dismiss(); });
    await signIn(page, userKey);
    await go(page, "/sandboxes/new");
    await page.type("#create-name", "<b>x</b>");
    await page.type("#create-envs", "GOOD=1\nnot a line");
    await page.click("#create-submit");
    await waitForText(page, "Fix the fields marked above");
    await waitForText(page, "starting with a letter or digit");
    await waitForText(page, "line 2");
    assertNoProblems(page);
});

test("create through the form, land on its page, see it running", async () => {
    netId = (await api("POST", "/v1/networks", { body: { name: `clist-${process.pid}` } })).id;
    await go(page, "/sandboxes");
    await go(page, "/sandboxes/new");
    await page.type("#create-name", NAME);
    await page.click(`#create-net-${netId}`);
    await page.select("#create-shape", "s-1vcpu-256mb");
    await page.select("#create-rootfs", "minimal");
    await page.type("#create-envs", "GREETING=hello\nTOKEN=s3cret");
    await shot(page, "sandbox-create");
    await page.click("#create-submit");
    await page.waitForFunction(() => /^\/sandboxes\/sb-/.test(document.querySelector("main").dataset.route || ""),
        { timeout: VM_MS, polling: 200 });
    sbId = await page.evaluate(() => document.querySelector("main").dataset.route.split("/")[2]);
    await waitBadge(page, "running");
    await waitForText(page, NAME, { selector: "#overview" });
    await waitForText(page, "GREETING", { selector: "#overview" });
    const overview = await page.$eval("#overview", (e) => e.innerText);
    assert.doesNotMatch(overview, /s3cret/, "env values are never shown");
    assert.match(overview, /s-1vcpu-256mb/);
    assert.match(overview, /minimal/);
    await waitForText(page, `clist-${process.pid}`, { selector: "#overview [data-field=networks]" });
    await shot(page, "sandbox-overview");
    // the file browser on the minimal image: busybox's find has no -printf, so the listing
    // takes its shell-loop path (console/src/pages/sandbox/files.js)
    await go(page, `/sandboxes/${sbId}/files`);
    await page.waitForSelector('[data-testid="files-list"] table'); // /root: empty on minimal
    await page.$eval("#files-path", (i) => { i.value = ""; });
    await page.type("#files-path", "/");
    await page.click("#files-go");
    await page.waitForFunction(() => {
        const names = Array.from(document.querySelectorAll('[data-testid="files-list"] [data-testid="files-open"] .files-name'),
            (b) => b.textContent);
        return names.includes("bin") && names.includes("etc");
    }, { timeout: VM_MS, polling: 200 });
    await shot(page, "sandbox-files-minimal");
    await go(page, `/sandboxes/${sbId}`);
    assertNoProblems(page);
});

test("pause, fork a paused child, resume with the header's buttons", async () => {
    assert.ok(sbId, "the create test made the sandbox");
    assert.equal(await page.$eval("#action-resume", (b) => b.disabled), true);
    assert.equal(await page.$eval("#action-fork", (b) => b.disabled), true);
    await page.click("#action-pause");
    await waitBadge(page, "paused");
    await page.waitForFunction(() => !document.querySelector("#action-resume").disabled);
    assert.equal(await page.$eval("#action-pause", (b) => b.disabled), true);
    await shot(page, "sandbox-paused");

    await page.click("#action-fork");
    await page.waitForSelector("#fork-dialog[open]");
    await page.click("#fork-paused");
    await page.click("#fork-submit");
    await page.waitForSelector("#fork-children a.fork-child", { timeout: VM_MS });
    await shot(page, "sandbox-fork");
    const href = await page.$eval("#fork-children a.fork-child", (a) => a.getAttribute("href"));
    childId = href.split("/")[2];
    const child = await api("GET", `/v1/sandboxes/${childId}`);
    assert.equal(child.forked_from, sbId);
    await page.click("#fork-close");
    await destroyQuietly(childId);

    await page.click("#action-resume");
    await waitBadge(page, "running");
    await waitStatus(sbId, "running");
    await shot(page, "sandbox-resumed");
    assertNoProblems(page);
});

test("text the sandbox's owner controls is shown literally (overview and list)", async () => {
    // names cannot carry markup (see above); an SSH key's comment can hold anything printable
    const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from("ssh-ed25519"),
        Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]).toString("base64");
    const evil = `<img src=x onerror="alert(1)">&amp;"<script>alert(2)</script>`;
    await api("POST", `/v1/sandboxes/${sbId}/ssh-pubkeys`, { body: { keys: [`ssh-ed25519 ${blob} ${evil}`] } });
    await go(page, `/sandboxes/${sbId}/overview`);
    await waitForText(page, evil, { selector: "#overview" });
    const found = await page.evaluate(() => ({
        img: document.querySelectorAll("main img").length,
        script: document.querySelectorAll("main script").length,
    }));
    assert.deepEqual(found, { img: 0, script: 0 });
    await go(page, "/sandboxes");
    await page.waitForSelector(`#sandboxes-table tr[data-key="${sbId}"]`);
    assert.equal(await page.$eval(`#sandboxes-table tr[data-key="${sbId}"] .col-name a`, (a) => a.textContent), NAME);
    await new Promise((r) => setTimeout(r, 500));
    assertNoProblems(page);
});

test("the list's quick actions pause and resume a row", async () => {
    const row = `#sandboxes-table tr[data-key="${sbId}"]`;
    const rowStatus = (want) => page.waitForFunction((sel, w) => document.querySelector(`${sel} .col-status`)?.textContent === w,
        { timeout: VM_MS, polling: 200 }, row, want);
    await rowStatus("running");
    await page.click(`${row} [data-testid=row-pause]`);
    await rowStatus("paused");
    await shot(page, "sandboxes-list-paused-row");
    await page.waitForFunction((sel) => !document.querySelector(`${sel} [data-testid=row-resume]`).disabled, {}, row);
    await page.click(`${row} [data-testid=row-resume]`);
    await rowStatus("running");
    await waitStatus(sbId, "running");
    assertNoProblems(page);
});

test("an API error shows next to the control: a name already in use", async () => {
    await go(page, "/sandboxes/new");
    await page.type("#create-name", NAME);
    await page.select("#create-shape", "s-1vcpu-256mb");
    await page.select("#create-rootfs", "minimal");
    await page.click("#create-submit");
    // §1.9: a duplicate name is 400 name_taken keyed "name": shown after the name input
    await page.waitForFunction(() => {
        const e = document.querySelector("#create-name").nextElementSibling;
        return e && e.classList.contains("error") && !e.hidden && /already in use/.test(e.textContent);
    }, { timeout: 60_000 });
    await waitForText(page, "refused the fields marked above");
    await shot(page, "sandbox-create-error");
    assertNoProblems(page);
});

test("destroy with the confirm dialog, back to the list", async () => {
    await go(page, `/sandboxes/${sbId}`);
    await page.waitForFunction(() => !document.querySelector("#action-destroy").disabled);
    await page.click("#action-destroy");
    await page.waitForSelector("dialog.confirm[open]");
    await shot(page, "sandbox-destroy-confirm");
    await page.click("dialog.confirm [data-testid=confirm-ok]");
    await page.waitForFunction(() => document.querySelector("main").dataset.route === "/sandboxes", { timeout: 60_000 });
    const sb = await api("GET", `/v1/sandboxes/${sbId}`);
    assert.ok(["destroying", "destroyed"].includes(sb.status), sb.status);
    await waitStatus(sbId, "destroyed", { timeout: 60_000 });
    sbId = undefined;
    await api("DELETE", `/v1/networks/${netId}`);
    netId = undefined;
    assertNoProblems(page);
    await page.close();
});
