// metrics.js: the sandbox's "Metrics" tab. GET /v1/sandboxes/{id}/metrics (docs/api.md §3.14)
// gives current values only (CPU as a 10 s average, memory, disk, byte counters), so the page
// samples it every few seconds into a rolling window: CPU %, memory used against the VM's
// memory, and the network rate (the counters' differences over time). The history the server
// keeps is per user, not per sandbox (GET /v1/metrics/timeseries): it is drawn below, labelled
// as covering all the user's sandboxes. Each chart is a <figure> with an aria-label and the
// latest values in words (chart.js).
import { h, replace } from "../../dom.js";
import { api } from "../../api.js";
import { field, fmtBytes, poll, section, showError } from "../../ui.js";
import { chart } from "./chart.js";

const SAMPLE_MS = 5000;
const WINDOW = 120; // samples kept: 10 minutes at 5 s
const LIVE_S = (WINDOW * SAMPLE_MS) / 1000;
const HISTORY_MS = 60_000;
const RANGES = [["3600", "last hour"], ["21600", "last 6 hours"], ["86400", "last 24 hours"]];

const pct = (v) => `${Number(v).toFixed(v < 10 ? 1 : 0)} %`;
const mib = (v) => fmtBytes(Number(v) * 1024 * 1024);
const rate = (v) => `${fmtBytes(v)}/s`;

// One sample from two readings: the rates need the previous one. Values the server does not
// know (the sandbox is not running) are null: the chart leaves a gap.
export function sample(m, prev) {
    const t = Date.parse(m.ts) / 1000 || Date.now() / 1000;
    const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
    let tx = null;
    let rx = null;
    if (prev && t > prev.t) {
        const dt = t - prev.t;
        if (m.egress_bytes >= prev.egress) tx = (m.egress_bytes - prev.egress) / dt;
        if (m.ingress_bytes >= prev.ingress) rx = (m.ingress_bytes - prev.ingress) / dt;
    }
    return { t, cpu: num(m.cpu_pct), mem: num(m.mem_used_mib), total: num(m.mem_mib), tx, rx,
             egress: m.egress_bytes, ingress: m.ingress_bytes };
}

export function render(panel, ctx) {
    const stops = [live(panel, ctx), history(panel)];
    return () => stops.forEach((s) => s());
}

function latestItem(id, label) {
    const dd = h("dd", { id, "data-value": "" }, "–");
    return [dd, [h("dt", null, label), dd]];
}

function live(panel, ctx) {
    const path = `/v1/sandboxes/${encodeURIComponent(ctx.id)}/metrics`;
    const [cpuV, cpuItem] = latestItem("metric-cpu", "CPU");
    const [memV, memItem] = latestItem("metric-mem", "Memory");
    const [diskV, diskItem] = latestItem("metric-disk", "Disk");
    const [txV, txItem] = latestItem("metric-tx", "Sending");
    const [rxV, rxItem] = latestItem("metric-rx", "Receiving");
    const state = h("p", { class: "hint", id: "metrics-state", role: "status" }, "Loading…");
    const latest = h("dl", { class: "props metrics-latest", id: "metrics-latest", "aria-label": "Latest values" },
        cpuItem, memItem, diskItem, txItem, rxItem);
    const cpu = chart({ id: "chart-cpu", label: "CPU use, last 10 minutes (percent of one CPU)",
        series: [{ label: "CPU", color: "--accent" }], fmt: pct, window: LIVE_S });
    const mem = chart({ id: "chart-mem", label: "Memory used and the VM's memory, last 10 minutes",
        series: [{ label: "used", color: "--accent" }, { label: "VM memory", color: "--muted" }], fmt: mib, window: LIVE_S });
    const net = chart({ id: "chart-net", label: "Network rate, last 10 minutes",
        series: [{ label: "sending", color: "--accent" }, { label: "receiving", color: "--focus" }], fmt: rate, window: LIVE_S });
    const samples = [];
    let prev = null;

    const setValue = (dd, value, text) => {
        dd.dataset.value = value === null ? "" : String(value);
        replace(dd, value === null ? "–" : text);
    };
    const tick = async () => {
        const m = await api("GET", path);
        const s = sample(m, prev);
        prev = s;
        samples.push(s);
        if (samples.length > WINDOW) samples.shift();
        const xs = samples.map((x) => x.t);
        cpu.set(xs, samples.map((x) => x.cpu));
        mem.set(xs, samples.map((x) => x.mem), samples.map((x) => x.total));
        net.set(xs, samples.map((x) => x.tx), samples.map((x) => x.rx));
        const cap = m.vcpu ? ` of ${m.vcpu * 100} % (${m.vcpu} vCPU)` : "";
        setValue(cpuV, s.cpu, s.cpu === null ? "" : `${pct(s.cpu)}${cap}`);
        setValue(memV, s.mem, s.mem === null ? "" : `${mib(s.mem)} of ${mib(m.mem_mib)}`);
        setValue(diskV, m.disk_used_mib ?? null, `${mib(m.disk_used_mib)} of ${mib(m.disk_mib)}`);
        setValue(txV, s.tx, s.tx === null ? "" : `${rate(s.tx)} (${fmtBytes(m.egress_bytes)} in all)`);
        setValue(rxV, s.rx, s.rx === null ? "" : `${rate(s.rx)} (${fmtBytes(m.ingress_bytes)} in all)`);
        cpu.caption(s.cpu === null ? "Latest: no reading." : `Latest: ${pct(s.cpu)}${cap}.`);
        mem.caption(s.mem === null ? "Latest: no reading." : `Latest: ${mib(s.mem)} used of ${mib(m.mem_mib)}.`);
        net.caption(s.tx === null ? "Latest: no rate yet (it needs two readings)."
            : `Latest: sending ${rate(s.tx)}, receiving ${rate(s.rx ?? 0)}.`);
        replace(state, m.status === "running"
            ? (s.cpu === null ? "Waiting for the first CPU reading (it takes a few seconds)…"
                : `Sampled every ${SAMPLE_MS / 1000} s while this tab is open; measured on the host.`)
            : `The sandbox is ${m.status}: no CPU or memory readings.`);
        showError(state, null);
    };
    panel.appendChild(section("This sandbox", state, latest,
        h("div", { class: "charts" }, cpu.el, mem.el, net.el)));
    const stop = poll(tick, SAMPLE_MS, (e) => showError(state, e));
    return () => {
        stop();
        cpu.destroy();
        mem.destroy();
        net.destroy();
    };
}

// The user's history (all their sandboxes): running count and traffic per step.
function history(panel) {
    const range = h("select", { id: "history-range" },
        RANGES.map(([v, label]) => h("option", { value: v }, label)));
    const state = h("p", { class: "hint", id: "history-state", role: "status" });
    const counts = chart({ id: "chart-running", label: "Your running and paused sandboxes over time",
        series: [{ label: "running", color: "--ok" }, { label: "paused", color: "--warn" }],
        fmt: (v) => String(Math.round(v * 100) / 100) });
    const traffic = chart({ id: "chart-traffic", label: "Your sandboxes' traffic per step",
        series: [{ label: "sent", color: "--accent" }, { label: "received", color: "--focus" }], fmt: fmtBytes });
    let seq = 0;
    const load = async () => {
        const mine = ++seq;
        const span = Number(range.value);
        const step = span <= 3600 ? 60 : span <= 21600 ? 300 : 600;
        const to = new Date();
        const from = new Date(to.getTime() - span * 1000);
        const d = await api("GET", "/v1/metrics/timeseries",
            { query: { from: from.toISOString(), to: to.toISOString(), step_s: step } });
        if (mine !== seq) return;
        const pts = d.points || [];
        const xs = pts.map((p) => Date.parse(p.ts) / 1000);
        counts.set(xs, pts.map((p) => p.running), pts.map((p) => p.paused));
        traffic.set(xs, pts.map((p) => p.egress_bytes), pts.map((p) => p.ingress_bytes));
        const last = pts[pts.length - 1];
        counts.caption(last ? `Latest step: ${last.running} running, ${last.paused} paused.` : "No data.");
        traffic.caption(last ? `Latest step: ${fmtBytes(last.egress_bytes)} sent, ${fmtBytes(last.ingress_bytes)} received.` : "No data.");
        replace(state, `Steps of ${step / 60} min; the server keeps one sample a minute for 24 hours, from its last start.`);
        showError(range, null);
    };
    range.addEventListener("change", () => load().catch((e) => showError(range, e)));
    panel.appendChild(section("All your sandboxes",
        h("p", { class: "hint" }, "The server's history is per user, not per sandbox."),
        field("Range", range), state,
        h("div", { class: "charts" }, counts.el, traffic.el)));
    const stop = poll(load, HISTORY_MS, (e) => showError(range, e));
    return () => {
        stop();
        counts.destroy();
        traffic.destroy();
    };
}
