// console_paint.mjs: the browser half of bench/bench_console.sh (not a benchmark of its own).
// ROUNDS cold loads of the console's #/sandboxes, each in a fresh browser context (empty cache
// and storage) with the key already in the tab's sessionStorage (as after a sign-in): the time
// from the navigation's start (performance.now() is relative to it) until the list's first row
// is in the DOM and a frame has been painted after it (a requestAnimationFrame, then a task).
// Prints one line per round: "<ms to the first row painted> <ms to first-contentful-paint>".
// Environment: BENCH_URL, BENCH_KEY, BENCH_WHO (whoami JSON), BENCH_ROUNDS, HEARTH_CHROMIUM,
// HEARTH_SUITE_MODULES (tests/console's installed packages: puppeteer-core).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const dir = join(process.env.HEARTH_SUITE_MODULES, "puppeteer-core");
const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
const puppeteer = (await import(pathToFileURL(join(dir, pkg.exports["."].import)).href)).default;

const url = process.env.BENCH_URL;
const rounds = Number(process.env.BENCH_ROUNDS || 10);
const browser = await puppeteer.launch({
    executablePath: process.env.HEARTH_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-proxy-server", "--disable-dev-shm-usage", "--window-size=1280,860"],
    defaultViewport: { width: 1280, height: 860 },
});
try {
    for (let i = 0; i < rounds; i++) {
        const ctx = await browser.createBrowserContext();
        const page = await ctx.newPage();
        await page.setCacheEnabled(false);
        // runs before the console's own script in every document of this page (CDP: not
        // subject to the page's CSP)
        await page.evaluateOnNewDocument((key, who) => {
            sessionStorage.setItem("hearth.key", key);
            sessionStorage.setItem("hearth.who", who);
            const seen = () => {
                if (window.__rows !== undefined || !document.querySelector("tr[data-testid=sandbox-row]")) return false;
                window.__rows = null;
                requestAnimationFrame(() => setTimeout(() => { window.__rows = performance.now(); }, 0));
                return true;
            };
            const mo = new MutationObserver(() => { if (seen()) mo.disconnect(); });
            mo.observe(document, { childList: true, subtree: true });
        }, process.env.BENCH_KEY, process.env.BENCH_WHO);
        await page.goto(`${url}/#/sandboxes`, { waitUntil: "domcontentloaded" });
        await page.waitForFunction(() => typeof window.__rows === "number", { timeout: 30_000, polling: 10 });
        const r = await page.evaluate(() => ({
            rows: window.__rows,
            fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? -1,
            n: document.querySelectorAll("tr[data-testid=sandbox-row]").length,
        }));
        if (r.n > 500) throw new Error(`${r.n} rows in the DOM: the list must render one page`);
        console.log(`${r.rows.toFixed(1)} ${r.fcp.toFixed(1)}`);
        await ctx.close();
    }
} finally {
    await browser.close();
}
