// signin.test.mjs: the console's frame: it is served with its CSP, a wrong key stays on the
// sign-in page with a clear message, a good key signs in, the key stays in the tab's session
// only, and signing out forgets it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { base, userKey, launch, newPage, signIn, shot, waitForText, assertNoProblems } from "./common.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("the page and its files carry a strict CSP and ETags", async () => {
    for (const path of ["/", "/console/app.js", "/console/app.css"]) {
        const r = await fetch(`${base}${path}`);
        assert.equal(r.status, 200, path);
        const csp = r.headers.get("content-security-policy");
        assert.match(csp, /script-src 'self'/);
        assert.doesNotMatch(csp, /unsafe-eval/);
        assert.equal(r.headers.get("x-content-type-options"), "nosniff");
        const etag = r.headers.get("etag");
        assert.ok(etag);
        const again = await fetch(`${base}${path}`, { headers: { "If-None-Match": etag } });
        assert.equal(again.status, 304, path);
    }
    const missing = await fetch(`${base}/console/../../etc/passwd`);
    assert.equal(missing.status, 404);
});

test("a wrong key is refused on the sign-in page", async () => {
    const page = await newPage(browser);
    await page.goto(`${base}/`);
    await page.waitForSelector("#signin-key");
    await page.type("#signin-key", "hk_" + "A".repeat(43));
    await page.click("#signin-submit");
    await waitForText(page, "not valid");
    await page.type("#signin-key", "x");
    await shot(page, "signin-wrong-key");
    assertNoProblems(page);
    await page.close();
});

test("sign in, the key is in sessionStorage only, sign out", async () => {
    const page = await newPage(browser);
    await signIn(page, userKey);
    await shot(page, "signed-in");
    const where = await page.evaluate(() => ({
        session: sessionStorage.getItem("hearth.key"),
        local: localStorage.length,
        cookie: document.cookie,
    }));
    assert.equal(where.session, userKey);
    assert.equal(where.local, 0);
    assert.equal(where.cookie, "");
    await page.click("#signout");
    await page.waitForSelector("#signin-key");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("hearth.key")), null);
    assertNoProblems(page);
    await page.close();
});
