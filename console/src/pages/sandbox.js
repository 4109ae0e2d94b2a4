// sandbox.js: one sandbox (#/sandboxes/:id[/:tab]): its header (name, status, the lifecycle
// actions of sandbox/actions.js), the tab bar, and the selected tab's module from sandbox/.
// Each tab module has render(panel, ctx) -> cleanup?, where ctx = { id, sb (the SandboxView,
// kept fresh by a 2 s poll), refresh() (re-reads it now), onChange(fn) (called with each new
// SandboxView; returns an unsubscribe) }.
import { h, replace } from "../dom.js";
import { api } from "../api.js";
import { poll, statusBadge, tabs, showError } from "../ui.js";
import * as actions from "./sandbox/actions.js";
import * as overview from "./sandbox/overview.js";
import * as terminal from "./sandbox/terminal.js";
import * as files from "./sandbox/files.js";
import * as processes from "./sandbox/processes.js";
import * as logs from "./sandbox/logs.js";
import * as network from "./sandbox/network.js";
import * as disks from "./sandbox/disks.js";
import * as metrics from "./sandbox/metrics.js";

const TABS = [
    ["overview", "Overview", overview],
    ["terminal", "Terminal", terminal],
    ["files", "Files", files],
    ["processes", "Processes", processes],
    ["logs", "Logs & events", logs],
    ["network", "Network", network],
    ["disks", "Disks", disks],
    ["metrics", "Metrics", metrics],
];

export async function render(main, params) {
    const id = params.id;
    const tab = TABS.find(([k]) => k === (params.tab || "overview"));
    if (!tab) {
        replace(main, h("h1", null, "Not found"), h("p", null, `No tab "${params.tab}".`));
        return;
    }
    let sb;
    try {
        sb = await api("GET", `/v1/sandboxes/${encodeURIComponent(id)}`);
    } catch (e) {
        const back = h("a", { href: "#/sandboxes" }, "Back to the sandboxes");
        replace(main, h("h1", null, "Sandbox"), h("p", { class: "error", role: "alert" }, e.message), back);
        return;
    }
    const listeners = new Set();
    const badge = h("span", null, statusBadge(sb.status));
    const title = h("h1", null, sb.name || sb.id);
    document.title = `${sb.name || sb.id} · hearth`;
    const ctx = {
        id: sb.id,
        sb,
        async refresh() {
            const fresh = await api("GET", `/v1/sandboxes/${encodeURIComponent(sb.id)}`);
            ctx.sb = fresh;
            replace(badge, statusBadge(fresh.status));
            replace(title, fresh.name || fresh.id);
            for (const fn of listeners) fn(fresh);
            return fresh;
        },
        onChange(fn) {
            listeners.add(fn);
            return () => listeners.delete(fn);
        },
    };
    const actionBar = h("div", { class: "actions" });
    const header = h("header", { class: "page-header" },
        h("div", null, h("p", { class: "crumbs" }, h("a", { href: "#/sandboxes" }, "Sandboxes"), " / ",
            h("code", null, sb.id)), h("div", { class: "title-line" }, title, badge)),
        actionBar);
    const panel = h("div", { class: "tab-panel", role: "region", "aria-label": tab[1] });
    replace(main, header,
        tabs(TABS.map(([k, label]) => [k, label, `#/sandboxes/${sb.id}/${k}`]), tab[0]),
        panel);
    const stopActions = actions.render(actionBar, ctx);
    const stopTab = await tab[2].render(panel, ctx);
    const stopPoll = poll(() => ctx.refresh(), 2000, (e) => showError(badge, e));
    return () => {
        stopPoll();
        listeners.clear();
        if (typeof stopActions === "function") stopActions();
        if (typeof stopTab === "function") stopTab();
    };
}
