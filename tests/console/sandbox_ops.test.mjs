// sandbox_ops.test.mjs: the sandbox's logs & events, network, disks and metrics tabs
// (docs/console.md) against one real VM, created in before() and destroyed in after(). What the
// guest writes to /dev/console shows in the log, also while following; egress rules, the
// bandwidth quota, the ingress switch and network membership changed through the page are read
// back through the API; a refused rule's message sits next to its field; disks (when the harness
// has its S3 server) attach and detach; the metrics charts draw under the CSP with numbers in
// their summaries. Markup from the guest or echoed back by the API stays text: any dialog (an
// alert() that got through) fails the test.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { VM_MS, api, assertNoProblems, destroyQuietly, go, launch, newPage, shot, signIn, waitForText, waitStatus }
    from "./common.mjs";

const XSS = "<img src=x onerror=alert(1)>";
const suffix = Date.now().toString(36);
const S3 = process.env.HEARTH_COMPAT_S3_URL;
const BUCKET = process.env.HEARTH_COMPAT_S3_BUCKET;
let browser;
let sb;
let net;
let disk;

before(async () => {
    browser = await launch();
    sb = await api("POST", "/v1/sandboxes", { body: { shape: "s-1vcpu-512mb", rootfs: "devbox:1", name: `console-ops-${suffix}` } });
    await waitStatus(sb.id, "running");
});

after(async () => {
    await browser?.close();
    await destroyQuietly(sb?.id);
    if (net) await api("DELETE", `/v1/networks/${net.id}`).catch(() => {});
    if (disk) {
        // the sandbox's mounts go when its destroy starts (docs/api.md §3.9.5)
        await api("DELETE", `/v1/disks/${disk.id}`).catch(() => {});
    }
});

// A signed-in page on one of the sandbox's tabs; a dialog means injected script ran.
async function openTab(tab) {
    const page = await newPage(browser);
    page.on("dialog", async (d) => {
        page.problems.push(`dialog: ${d.message()}`);
        await d.dismiss();
    });
    await signIn(page);
    await go(page, `/sandboxes/${sb.id}/${tab}`);
    return page;
}

async function exec(script) {
    const d = await api("POST", `/v1/sandboxes/${sb.id}/exec`, { body: { cmd: "sh", args: ["-c", script], timeout_ms: 60_000 } });
    assert.equal(d.result.exit_code, 0, d.result.stderr);
    return d.result.stdout;
}

// The text of the error slot right after the element sel (ui.showError).
function errorNextTo(page, sel) {
    return page.$eval(sel, (el) => {
        const slot = el.nextElementSibling;
        return slot && slot.classList.contains("error") && !slot.hidden ? slot.textContent : "";
    });
}

test("logs: the console log, follow mode gets new lines, guest markup stays text, events", { timeout: 6 * VM_MS }, async () => {
    const page = await openTab("logs");
    // what the boot wrote to the serial console (the kernel runs with "quiet": a few lines)
    await page.waitForFunction(() => document.querySelector("#logs-state")?.textContent.startsWith("Loaded"), { timeout: VM_MS });
    const boot = await page.$eval("#console-log", (el) => el.textContent);
    assert.match(boot, /hearth-agent: started/, `boot lines: ${JSON.stringify(boot.slice(0, 300))}`);
    await exec("echo console-ops-boot-marker > /dev/console");
    await page.click("#logs-reload");
    await waitForText(page, "console-ops-boot-marker", { selector: "#console-log", timeout: VM_MS });

    // follow: new lines arrive without a reload; the guest's markup is text
    await page.click("#logs-follow");
    await waitForText(page, "Following", { selector: "#logs-state" });
    await exec(`echo 'console-ops-follow-marker ${XSS}' > /dev/console`);
    await waitForText(page, `console-ops-follow-marker ${XSS}`, { selector: "#console-log", timeout: VM_MS });
    assert.equal(await page.$$eval("#console-log *", (els) => els.length), 0, "the log holds only text");
    assert.equal(await page.$("img"), null);
    // the tail select reloads (still following)
    await page.select("#logs-tail", "100");
    await waitForText(page, "console-ops-follow-marker", { selector: "#console-log", timeout: VM_MS });
    await waitForText(page, "created", { selector: "#events" });
    await shot(page, "sandbox-logs");

    // a pause ends the stream and shows in the events (asked by the API); after the resume the
    // page follows the new run's log by itself
    await api("POST", `/v1/sandboxes/${sb.id}/pause`);
    await waitStatus(sb.id, "paused");
    await waitForText(page, "stream ended", { selector: "#logs-state", timeout: VM_MS });
    await waitForText(page, /paused\s+api/, { selector: "#events", timeout: VM_MS });
    await api("POST", `/v1/sandboxes/${sb.id}/resume`);
    await waitStatus(sb.id, "running");
    await waitForText(page, /resumed\s+api/, { selector: "#events", timeout: VM_MS });
    await waitForText(page, "Following", { selector: "#logs-state", timeout: VM_MS });
    await exec("echo console-ops-after-resume > /dev/console");
    await waitForText(page, "console-ops-after-resume", { selector: "#console-log", timeout: VM_MS });
    await shot(page, "sandbox-logs-events");
    assertNoProblems(page);
    await page.close();
});

test("network: egress rules saved through the page, a bad rule's 400 next to its field", { timeout: 2 * VM_MS }, async () => {
    const page = await openTab("network");
    await waitForText(page, "all outbound traffic is allowed", { selector: "#egress-policy" });
    await page.click("#egress-mode-list");
    await page.waitForSelector("#egress-rules input");
    await page.type("#egress-rules li:nth-child(1) input", "Example.COM:443");
    await page.click("#egress-add");
    await page.type("#egress-rules li:nth-child(2) input", "10.1.2.3/8");
    await page.click("#egress-save");
    await waitForText(page, "only 2 destination rules", { selector: "#egress-policy" });
    assert.deepEqual((await api("GET", `/v1/sandboxes/${sb.id}/egress`)).egress, ["example.com:443", "10.0.0.0/8"]);
    // the stored (normalised) form is what the editor shows now
    assert.equal(await page.$eval("#egress-rules li:nth-child(1) input", (i) => i.value), "example.com:443");

    // a bad rule (markup, too): refused, its message next to it, nothing changed
    await page.click("#egress-add");
    await page.type("#egress-rules li:nth-child(3) input", XSS);
    await page.click("#egress-save");
    await page.waitForFunction(() => {
        const i = document.querySelector("#egress-rules li:nth-child(3) input");
        const s = i?.nextElementSibling;
        return s && s.classList.contains("error") && !s.hidden && s.textContent.length > 0;
    }, { timeout: 30_000 });
    const msg = await errorNextTo(page, "#egress-rules li:nth-child(3) input");
    assert.ok(msg.length > 0);
    assert.equal(await errorNextTo(page, "#egress-rules li:nth-child(1) input"), "");
    assert.match(await errorNextTo(page, "#egress-save"), /Not saved/);
    assert.equal(await page.$("img"), null);
    assert.deepEqual((await api("GET", `/v1/sandboxes/${sb.id}/egress`)).egress, ["example.com:443", "10.0.0.0/8"]);
    await shot(page, "sandbox-network-egress-error");

    // back to everything allowed
    await page.click("#egress-mode-all");
    await page.click("#egress-save");
    await waitForText(page, "all outbound traffic is allowed", { selector: "#egress-policy" });
    assert.deepEqual((await api("GET", `/v1/sandboxes/${sb.id}/egress`)).egress, []);
    assertNoProblems(page);
    await page.close();
});

test("network: bandwidth recharge, the public URL of a port, attach and detach a network", { timeout: 2 * VM_MS }, async () => {
    net = await api("POST", "/v1/networks", { body: { name: `cops-${suffix}` } });
    const page = await openTab("network");
    await page.waitForSelector("#bw-text[data-quota]");
    const before = (await api("GET", `/v1/sandboxes/${sb.id}/bandwidth`)).quota_bytes;
    await page.$eval("#bw-amount", (i) => { i.value = ""; });
    await page.type("#bw-amount", "3");
    await page.select("#bw-unit", String(2 ** 20));
    await page.click("#bw-recharge");
    await page.waitForFunction((q) => document.querySelector("#bw-text")?.dataset.quota === String(q), {}, before + 3 * 2 ** 20);
    assert.equal((await api("GET", `/v1/sandboxes/${sb.id}/bandwidth`)).quota_bytes, before + 3 * 2 ** 20);
    // a refused amount is said next to the button, nothing sent
    await page.$eval("#bw-amount", (i) => { i.value = "0"; });
    await page.click("#bw-recharge");
    await page.waitForFunction(() => document.querySelector("#bw-recharge")?.nextElementSibling?.textContent.includes("amount"));

    // ingress: on through the page, a port's URL from the view's template
    await page.click("#ingress-enabled");
    await page.waitForSelector("#ingress-template");
    const view = await api("GET", `/v1/sandboxes/${sb.id}`);
    assert.equal(view.ingress_enabled, true);
    assert.ok(view.ingress_url_template.includes("<port>"));
    await page.type("#preview-port", "8080");
    await page.click("#preview-add");
    await page.waitForSelector('#preview-urls li[data-port="8080"] a');
    const link = await page.$eval('#preview-urls li[data-port="8080"] a',
        (a) => ({ href: a.getAttribute("href"), rel: a.rel, target: a.target, text: a.textContent }));
    assert.equal(link.href, view.ingress_url_template.replace("<port>", "8080"));
    assert.equal(link.rel, "noopener noreferrer");
    assert.equal(link.target, "_blank");

    // private networks: attach the new one, then detach it after the confirmation
    await page.waitForSelector(`#net-attach-select option[value="${net.id}"]`);
    await page.select("#net-attach-select", net.id);
    await page.click("#net-attach");
    await page.waitForSelector(`#sb-networks tr[data-key="${net.id}"]`, { timeout: VM_MS });
    const members = (await api("GET", `/v1/networks/${net.id}`)).members || [];
    assert.ok(members.some((m) => m.sandbox_id === sb.id));
    await shot(page, "sandbox-network");
    await page.click(`[data-testid="net-detach-${net.name}"]`);
    await page.waitForSelector('[data-testid="confirm-ok"]');
    await page.click('[data-testid="confirm-ok"]');
    await waitForText(page, "Not in any private network", { selector: "#sb-networks", timeout: VM_MS });
    assert.equal(((await api("GET", `/v1/networks/${net.id}`)).members || []).length, 0);

    // ingress off again, through the page
    await page.click("#ingress-enabled");
    await page.waitForFunction(() => !document.querySelector("#ingress-template"));
    assert.equal((await api("GET", `/v1/sandboxes/${sb.id}`)).ingress_enabled, false);
    await page.setViewport({ width: 390, height: 844 });
    await shot(page, "sandbox-network-phone");
    assertNoProblems(page);
    await page.close();
});

test("disks: attach one of the user's disks at a path, detach after the confirmation",
    { timeout: 4 * VM_MS, skip: S3 ? false : `no S3 server: ${process.env.HEARTH_COMPAT_S3_SKIP ?? "not started"}` },
    async () => {
        disk = await api("POST", "/v1/disks", { body: { name: `cops-disk-${suffix}`, kind: "s3",
            config: { bucket: BUCKET, endpoint: S3, use_path_style: true },
            credentials: { access_key: "S3RVER", secret_key: "S3RVER" } } });
        const page = await openTab("disks");
        await page.waitForSelector(`#disk-attach-select option[value="${disk.id}"]`);
        await page.select("#disk-attach-select", disk.id);
        // a bad path is caught next to its field
        await page.type("#disk-mount-path", "relative/path");
        await page.click("#disk-attach");
        assert.match(await errorNextTo(page, "#disk-mount-path"), /absolute/);
        await page.$eval("#disk-mount-path", (i) => { i.value = ""; });
        await page.type("#disk-mount-path", "/mnt/console-ops");
        await page.click("#disk-attach");
        await page.waitForSelector(`#sb-disks tr[data-key="${disk.id} /mnt/console-ops"]`, { timeout: VM_MS });
        await waitForText(page, "mounted", { selector: "#sb-disks", timeout: 2 * VM_MS });
        await shot(page, "sandbox-disks");
        await page.click(`[data-testid="disk-detach-${disk.name}"]`);
        await page.waitForSelector('[data-testid="confirm-ok"]');
        await page.click('[data-testid="confirm-ok"]');
        await waitForText(page, "No disk is mounted", { selector: "#sb-disks", timeout: VM_MS });
        assert.equal((await api("GET", `/v1/sandboxes/${sb.id}/disks`)).data.length, 0);
        assertNoProblems(page);
        await page.close();
    });

test("metrics: the charts draw under the CSP and the latest values are numbers", { timeout: 2 * VM_MS }, async () => {
    const page = await openTab("metrics");
    await page.waitForFunction(() => document.querySelectorAll(".chart canvas").length >= 5, { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector("#metric-cpu")?.dataset.value !== "", { timeout: VM_MS });
    const latest = await page.$$eval("#metrics-latest dd", (dds) => dds.map((d) => [d.id, d.dataset.value, d.textContent]));
    const cpu = latest.find(([id]) => id === "metric-cpu");
    assert.ok(Number.isFinite(Number(cpu[1])), `cpu: ${cpu}`);
    assert.match(cpu[2], /\d/);
    const mem = latest.find(([id]) => id === "metric-mem");
    assert.ok(Number(mem[1]) > 0, `memory: ${mem}`);
    // every chart is labelled and has its summary
    const figs = await page.$$eval("figure.chart", (fs) => fs.map((f) => [f.getAttribute("aria-label"), f.querySelector("figcaption")?.textContent]));
    assert.equal(figs.length, 5);
    for (const [label] of figs) assert.ok(label);
    await page.waitForFunction(() => /\d/.test(document.querySelector("#chart-cpu-latest")?.textContent || ""));
    await shot(page, "sandbox-metrics");
    await page.setViewport({ width: 390, height: 844 });
    await page.waitForFunction(() => [...document.querySelectorAll(".chart canvas")].every((c) => c.getBoundingClientRect().right <= 392));
    await shot(page, "sandbox-metrics-phone");
    assertNoProblems(page);
    await page.close();
});
