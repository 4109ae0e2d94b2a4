// keys.test.mjs: the admin pages. As an admin: the API keys page lists keys; a new key (its
// label an XSS attempt) is shown once with a warning and read back from the page; a second tab
// signs in with it; revoking it from the first tab sends the second back to the sign-in page
// with the clear message on its next API call; an API error (revoking a key already gone) is
// shown next to its button. A user key sees the "needs an admin key" message instead. The
// hosts page renders its table. Screenshots: keys, keys-created, keys-phone, keys-not-admin,
// hosts.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { adminKey, userKey, api, launch, newPage, signIn, go, shot, waitForText, assertNoProblems } from "./common.mjs";

const XSS = "<img src=x onerror=alert(1)>";
const USER = "console-keys";

let browser;
const made = []; // key ids to revoke at the end
before(async () => { browser = await launch(); });
after(async () => {
    for (const id of made) {
        try { await api("DELETE", `/v1/keys/${id}`, { key: adminKey }); } catch { /* gone already */ }
    }
    await browser?.close();
});

// A page that records alert()/confirm() dialogs (an XSS would open one) and dismisses them.
async function page() {
    const p = await newPage(browser);
    p.dialogs = [];
    p.on("dialog", async (d) => { p.dialogs.push(d.message()); await d.dismiss(); });
    return p;
}

async function clickRevoke(p, id) {
    await p.click(`[data-testid="revoke-${id}"]`);
    await p.waitForSelector('dialog[open] [data-testid="confirm-ok"]');
    await p.click('dialog[open] [data-testid="confirm-ok"]');
}

test("admin: create a key shown once, use it in another tab, revoke it there", async () => {
    const a = await page();
    await signIn(a, adminKey);
    await go(a, "/keys");
    await a.waitForSelector("#keys-list table");
    assert.ok(await a.$('nav.app-nav a[href="#/keys"]'), "the nav shows API keys to an admin");
    await shot(a, "keys");

    // refused before sending: a bad user name, an oversized label
    await a.type("#key-user", "Bad User");
    await a.click("#key-create");
    await waitForText(a, "user: lower-case letters");
    await a.$eval("#key-user", (el) => { el.value = ""; });
    await a.$eval("#key-label", (el) => { el.value = "x".repeat(201); });
    await a.click("#key-create");
    await waitForText(a, "label: at most 200 characters");

    // create: an admin key (so it may open the admin pages) of a new user, labelled with markup
    await a.type("#key-user", USER);
    await a.$eval("#key-label", (el) => { el.value = ""; });
    await a.type("#key-label", XSS);
    await a.click("#key-admin");
    await a.click("#key-create");
    await a.waitForSelector("#new-key-value");
    const key = await a.$eval("#new-key-value", (el) => el.value);
    assert.match(key, /^hk_[A-Za-z0-9_-]{43}$/);
    await waitForText(a, "only time this key is shown");
    const listed = await api("GET", `/v1/keys?user=${USER}`, { key: adminKey });
    assert.equal(listed.pagination.total, 1);
    const id = listed.data[0].id;
    made.push(id);
    assert.equal(listed.data[0].label, XSS);
    assert.equal(listed.data[0].admin, true);
    assert.ok(!JSON.stringify(listed).includes(key), "the list never carries the secret");
    await a.waitForSelector(`[data-testid="revoke-${id}"]`);
    // the label is text: no <img> was made, no alert ran, the row shows it verbatim
    const row = await a.$eval(`tr[data-key="${id}"]`, (tr) => ({
        text: tr.innerText, imgs: tr.querySelectorAll("img").length,
    }));
    assert.ok(row.text.includes(XSS), row.text);
    assert.equal(row.imgs, 0);
    assert.equal(await a.evaluate(() => document.querySelectorAll("main img").length), 0);
    await shot(a, "keys-created");

    // shown once: dismissing the panel removes the value, and no page shows it again
    await a.click("#new-key-done");
    await a.waitForFunction(() => !document.querySelector("#new-key-value"));
    await go(a, "/hosts");
    await go(a, "/keys");
    await a.waitForSelector(`[data-testid="revoke-${id}"]`);
    assert.ok(!(await a.evaluate(() => document.body.innerText)).includes(key));

    // a second tab signs in with the new key (sessionStorage is per tab)
    const b = await page();
    await signIn(b, key);
    await waitForText(b, USER, { selector: ".who" });
    await go(b, "/hosts");
    await b.waitForSelector("#hosts-list table");

    // revoke it from the first tab; the second returns to sign-in on its next call (a tab
    // in the background gets no animation frames, which clicks wait for: bring it forward)
    await a.bringToFront();
    await clickRevoke(a, id);
    await a.waitForFunction((i) => !document.querySelector(`tr[data-key="${i}"]`), {}, id);
    await b.bringToFront();
    await b.evaluate(() => { location.hash = "#/keys"; });
    await b.waitForSelector("#signin-key");
    await waitForText(b, "not valid any more");
    assert.equal(await b.evaluate(() => sessionStorage.getItem("hearth.key")), null);
    await shot(b, "keys-revoked-signed-out");

    assert.deepEqual(a.dialogs, []);
    assert.deepEqual(b.dialogs, []);
    assertNoProblems(a);
    await a.close();
    await b.close();
});

test("admin: an API error is shown next to the button that caused it", async () => {
    const k = await api("POST", "/v1/keys", { key: adminKey, body: { user: USER, label: "gone soon" } });
    made.push(k.id);
    const p = await page();
    await signIn(p, adminKey);
    await go(p, "/keys");
    await p.waitForSelector(`[data-testid="revoke-${k.id}"]`);
    await api("DELETE", `/v1/keys/${k.id}`, { key: adminKey }); // behind the page's back
    await clickRevoke(p, k.id);
    const err = await p.waitForSelector(`[data-testid="revoke-${k.id}"] + .error:not([hidden])`);
    assert.equal(await err.evaluate((el) => el.textContent), "key not found");
    // still signed in: a 404 is not a 401
    assert.ok(await p.$("nav.app-nav"));
    // phone width: one column
    await p.setViewport({ width: 390, height: 844 });
    await shot(p, "keys-phone");
    assertNoProblems(p);
    await p.close();
});

test("a user key sees that the admin pages need an admin key", async () => {
    const p = await page();
    await signIn(p, userKey);
    assert.equal(await p.$('nav.app-nav a[href="#/keys"]'), null, "no API keys link for a user key");
    for (const route of ["/keys", "/hosts"]) {
        await go(p, route);
        await p.waitForSelector('[data-testid="needs-admin"]');
        await waitForText(p, "needs an admin key");
    }
    await go(p, "/keys");
    await shot(p, "keys-not-admin");
    assertNoProblems(p);
    await p.close();
});

test("admin: the hosts page lists this host and refreshes", async () => {
    const hosts = await api("GET", "/v1/hosts", { key: adminKey });
    const p = await page();
    await signIn(p, adminKey);
    await go(p, "/hosts");
    await p.waitForSelector("#hosts-list table");
    const h = hosts.data[0];
    await waitForText(p, h.id, { selector: "#hosts-list" });
    await waitForText(p, h.status, { selector: "#hosts-list" });
    const before = await p.$eval("#hosts-updated", (el) => el.textContent);
    assert.match(before, /1 host; updated/);
    await shot(p, "hosts");
    // the poll redraws (the time in the line changes) without errors
    await p.waitForFunction((t) => document.querySelector("#hosts-updated")?.textContent !== t,
        { timeout: 15_000 }, before);
    assertNoProblems(p);
    await p.close();
});
