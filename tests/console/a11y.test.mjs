// a11y.test.mjs: the console is usable by keyboard and screen reader and readable: sign-in
// with the keyboard alone, a skip link, every form control and button of every page with an
// accessible name, text contrast of at least 4.5:1 (WCAG AA) in the light and the dark scheme,
// and no page wider than a phone's screen at 390 px.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { base, adminKey, launch, newPage, signIn, go, shot, assertNoProblems } from "./common.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const PAGES = ["/sandboxes", "/sandboxes/new", "/templates", "/networks", "/disks", "/keys", "/hosts"];

test("sign in with the keyboard alone; the skip link leads to the content", async () => {
    const page = await newPage(browser);
    await page.goto(`${base}/`);
    await page.waitForSelector("#signin-key");
    // the key field has the focus on arrival
    assert.equal(await page.evaluate(() => document.activeElement?.id), "signin-key");
    await page.keyboard.type(adminKey);
    await page.keyboard.press("Enter");
    await page.waitForSelector("nav.app-nav");
    await page.waitForFunction(() => document.querySelector("main")?.dataset.route === "/sandboxes");
    // the first Tab stop is the skip link; following it moves the focus to <main>
    // from the top of the page (where a reload or a screen reader starts)
    await page.evaluate(() => {
        document.body.tabIndex = -1;
        document.body.focus();
        document.body.removeAttribute("tabindex");
    });
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.activeElement?.id === "main");
    assertNoProblems(page);
    await page.close();
});

// Every input, select, textarea and button that is shown has a name a screen reader can say.
function unnamedControls() {
    const named = (el) => {
        if (el.getAttribute("aria-label")?.trim()) return true;
        const by = el.getAttribute("aria-labelledby");
        if (by && by.split(/\s+/).some((id) => document.getElementById(id)?.textContent.trim())) return true;
        if (el.labels && Array.from(el.labels).some((l) => l.textContent.trim())) return true;
        if (el.tagName === "BUTTON") return !!el.textContent.trim() || !!el.title;
        if (el.type === "submit" || el.type === "button") return !!el.value;
        return !!el.title;
    };
    return Array.from(document.querySelectorAll("main input, main select, main textarea, main button, header button"))
        .filter((el) => el.type !== "hidden" && el.offsetParent !== null && !named(el))
        .map((el) => `${el.tagName.toLowerCase()}#${el.id || "?"}.${el.className}`);
}

test("every control on every page has an accessible name", async () => {
    const page = await newPage(browser);
    await signIn(page, adminKey);
    for (const route of PAGES) {
        await go(page, route);
        await new Promise((r) => setTimeout(r, 300)); // lists load after the frame
        const bad = await page.evaluate(unnamedControls);
        assert.deepEqual(bad, [], `unnamed controls on ${route}`);
    }
    assertNoProblems(page);
    await page.close();
});

// The contrast ratio of two CSS colours (WCAG 2 relative luminance).
function contrastPairs() {
    const rgb = (c) => c.match(/[\d.]+/g).slice(0, 3).map(Number);
    const lum = ([r, g, b]) => {
        const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const ratio = (a, b) => {
        const [x, y] = [lum(rgb(a)), lum(rgb(b))].sort((p, q) => q - p);
        return (x + 0.05) / (y + 0.05);
    };
    // each sample: an element made with the class, its colour against its background (or the
    // page's when transparent)
    const page = getComputedStyle(document.documentElement).backgroundColor;
    const card = getComputedStyle(document.querySelector(".app-bar")).backgroundColor;
    const sample = (tag, cls, on) => {
        const el = document.createElement(tag);
        el.className = cls;
        el.textContent = "Aa";
        (on || document.body).appendChild(el);
        const s = getComputedStyle(el);
        const bg = s.backgroundColor.startsWith("rgba(0, 0, 0, 0)") ? (on ? card : page) : s.backgroundColor;
        const r = ratio(s.color, bg);
        el.remove();
        return r;
    };
    const bar = document.querySelector(".app-bar");
    return {
        text: ratio(getComputedStyle(document.documentElement).color, page),
        hint: sample("span", "hint"),
        hint_on_card: sample("span", "hint", bar),
        link: sample("a", ""),
        error: sample("span", "error"),
        primary_button: sample("button", "btn btn-primary"),
        danger_button: sample("button", "btn btn-danger"),
        running_badge: sample("span", "badge status-running"),
        paused_badge: sample("span", "badge status-paused"),
        error_badge: sample("span", "badge status-error"),
    };
}

for (const scheme of ["light", "dark"]) {
    test(`text contrast is at least 4.5:1 in the ${scheme} scheme`, async () => {
        const page = await newPage(browser);
        await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
        await signIn(page, adminKey);
        const ratios = await page.evaluate(contrastPairs);
        for (const [what, r] of Object.entries(ratios)) {
            assert.ok(r >= 4.5, `${scheme}: ${what} contrast ${r.toFixed(2)} < 4.5`);
        }
        await shot(page, `sandboxes-${scheme}`);
        await page.close();
    });
}

test("no page is wider than a phone's screen at 390 px", async () => {
    const page = await newPage(browser);
    await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true });
    await signIn(page, adminKey);
    for (const route of PAGES) {
        await go(page, route);
        await new Promise((r) => setTimeout(r, 300));
        const w = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(w <= 400, `${route} is ${w} px wide at 390 px`);
    }
    await shot(page, "sandboxes-phone-frame");
    assertNoProblems(page);
    await page.close();
});
