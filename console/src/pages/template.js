// template.js: one template (#/templates/:ref, docs/api.md §3.10): its details and Dockerfile
// (?include=dockerfile), the build log followed live (GET …/logs?follow=true: NDJSON lines
// {ts, level, line, attempt}, then {final: true, status}), one attempt's lines on request
// (?attempt=N), a sandbox created from it (POST /v1/sandboxes, rootfs = its name) and delete
// (a soft delete: a running build is cancelled).
import { h, replace, clear } from "../dom.js";
import { api, apiLines } from "../api.js";
import { navigate } from "../router.js";
import { button, confirmDialog, field, poll, section, statusBadge, fmtBytes, fmtTime, showError,
    clearError } from "../ui.js";
import { fetchAll } from "../pager.js";

const BUSY = new Set(["pending", "building"]);
const MAX_LINES = 10000; // the oldest lines leave the page past this
const DEFAULT_SHAPE = "s-1vcpu-512mb";

export async function render(main, params) {
    const ref = params.ref;
    const path = `/v1/templates/${encodeURIComponent(ref)}`;
    let tpl;
    try {
        tpl = await api("GET", path, { query: { include: "dockerfile" } });
    } catch (e) {
        replace(main, h("h1", null, "Template"), h("p", { class: "error", role: "alert" }, e.message),
            h("a", { href: "#/templates" }, "Back to the templates"));
        return;
    }
    document.title = `${tpl.name} · hearth`;
    const badge = h("span", { "data-testid": "template-status" }, statusBadge(tpl.status));
    const props = h("dl", { class: "props", "data-testid": "template-props" });
    const dockerfile = h("pre", { id: "tpl-dockerfile-src", class: "dockerfile" }, tpl.dockerfile || "");
    const log = buildLog(path, tpl);
    const create = createForm(tpl);

    const del = button("Delete", async () => {
        const sure = await confirmDialog(`Delete the template "${tpl.name}"? ${BUSY.has(tpl.status) ? "Its build is cancelled. " : ""}`
            + "Sandboxes already created from it keep working; new ones cannot be created from it.",
            { confirm: "Delete", danger: true });
        if (!sure) return;
        await api("DELETE", `/v1/templates/${encodeURIComponent(tpl.id)}`);
        navigate("/templates");
    }, { kind: "danger", id: "tpl-delete" });

    const draw = () => {
        replace(badge, statusBadge(tpl.status));
        replace(props, templateProps(tpl));
        create.update(tpl);
        log.update(tpl);
    };
    const refresh = async () => {
        const fresh = await api("GET", path);
        tpl = { ...fresh, dockerfile: tpl.dockerfile };
        draw();
    };
    log.onChange = () => refresh().catch((e) => showError(badge, e));
    draw();

    replace(main,
        h("header", { class: "page-header" },
            h("div", null,
                h("p", { class: "crumbs" }, h("a", { href: "#/templates" }, "Templates"), " / ", h("code", null, tpl.id)),
                h("div", { class: "title-line" }, h("h1", null, tpl.name), badge)),
            h("div", { class: "actions" }, del)),
        h("div", { class: "template-grid" },
            section("Details", props),
            create.el),
        section("Build log", log.el),
        section("Dockerfile", dockerfile));
    log.follow();
    // the status and attempt while the build runs (the log's final frame also refreshes)
    const stop = poll(async () => { if (BUSY.has(tpl.status)) await refresh(); }, 3000,
        (e) => showError(badge, e));
    return () => {
        stop();
        log.stop();
    };
}

function readyText(r) {
    if (!r || typeof r !== "object") return null;
    const what = r.port !== undefined ? `TCP port ${r.port} accepts connections`
        : r.file !== undefined ? `the file ${r.file} exists`
            : r.command !== undefined ? `the command "${r.command}" exits 0`
                : r.delay_ms !== undefined ? `after ${r.delay_ms} ms` : JSON.stringify(r);
    return r.timeout_seconds ? `${what} (within ${r.timeout_seconds} s)` : what;
}

function templateProps(t) {
    const rows = [
        ["ID", h("code", null, t.id)],
        ["Status", t.status],
        ["Base", h("code", null, t.base)],
        ["Size", t.ext4_size_bytes ? fmtBytes(t.ext4_size_bytes) : null],
        ["Created", fmtTime(t.created_at)],
        ["Built", t.built_at ? fmtTime(t.built_at) : null],
        ["Attempt", t.attempt ? String(t.attempt) : null],
        ["Error", t.error ? h("span", { class: "error-text" }, t.error) : null],
        ["Build context", t.context ? h("code", null, t.context) : null],
        ["Start command", t.start_cmd ? h("code", null, t.start_cmd) : null],
        ["Ready check", readyText(t.ready)],
        ["Layer cache", t.no_cache ? "not used (no_cache)" : null],
    ];
    return rows.filter(([, v]) => v !== null && v !== undefined)
        .flatMap(([k, v]) => [h("dt", null, k), h("dd", null, v)]);
}

// The build log: follows ?follow=true from the start (every stored line, then new ones, then
// the final frame); an attempt select appears once there was more than one attempt. New lines
// scroll into view while the reader is at the bottom.
function buildLog(path, first) {
    const box = h("div", { class: "build-log", id: "tpl-log", role: "log", tabindex: "0",
        "aria-label": "Build log", "aria-live": "off" });
    const state = h("p", { class: "hint log-state", id: "tpl-log-state", "aria-live": "polite" });
    const select = h("select", { id: "tpl-attempt" });
    const pick = h("label", { class: "inline-field", hidden: true }, "Attempt ", select);
    let ctrl = null;
    let attempts = 0;
    let pending = [];
    let timer = null;
    let lastAttempt = null;
    let asked = 0; // the highest attempt a refresh was asked for
    const self = {
        el: h("div", null, h("div", { class: "log-bar" }, state, pick), box),
        onChange: () => {},
        update(t) {
            const n = t.attempt || 0;
            if (n === attempts) return;
            attempts = n;
            const cur = select.value;
            replace(select, h("option", { value: "" }, "all attempts"),
                Array.from({ length: n }, (_, i) => h("option", { value: String(i + 1) }, `attempt ${i + 1}`)));
            select.value = cur;
            pick.hidden = n < 2;
        },
        follow() { follow(select.value); },
        stop() {
            if (ctrl) ctrl.abort();
            if (timer) clearTimeout(timer);
        },
    };
    select.addEventListener("change", () => follow(select.value));

    function flush() {
        timer = null;
        const stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 24;
        for (const n of pending) box.appendChild(n);
        pending = [];
        while (box.childNodes.length > MAX_LINES) box.removeChild(box.firstChild);
        if (stick) box.scrollTop = box.scrollHeight;
    }
    function add(node) {
        pending.push(node);
        if (!timer) timer = setTimeout(flush, 50);
    }
    function line(ev) {
        const ts = ev.ts ? new Date(ev.ts) : null;
        const time = ts && !Number.isNaN(ts.getTime()) ? ts.toLocaleTimeString() : "";
        const level = ev.level === "error" ? "error" : "info";
        return h("div", { class: `log-line level-${level}` },
            h("span", { class: "ts", "aria-hidden": "true" }, time), h("span", { class: "text" }, String(ev.line ?? "")));
    }

    function follow(attempt) {
        self.stop();
        ctrl = new AbortController();
        const mine = ctrl;
        clear(box);
        pending = [];
        lastAttempt = null;
        clearError(state);
        replace(state, "Following the build log…");
        let final = null;
        apiLines(`${path}/logs`, (ev) => {
            if (mine.signal.aborted) return;
            if (ev.final) {
                final = ev;
                return;
            }
            if (!attempt && ev.attempt !== lastAttempt && (lastAttempt !== null || (ev.attempt || 1) > 1)) {
                add(h("div", { class: "log-line attempt-mark" }, `--- attempt ${ev.attempt} ---`));
            }
            if (ev.attempt > Math.max(attempts, asked)) {
                asked = ev.attempt;
                self.onChange();
            }
            lastAttempt = ev.attempt;
            add(line(ev));
        }, { query: { follow: "true", attempt: attempt || undefined }, signal: mine.signal })
            .then(() => {
                if (mine.signal.aborted) return;
                flush();
                replace(state, final ? h("span", null, "Build finished: ", statusBadge(final.status))
                    : "The log stream ended before the build did; reload to follow it again.");
                self.onChange();
            })
            .catch((e) => {
                if (e.name === "AbortError" || mine.signal.aborted) return;
                replace(state, "The build log could not be read.");
                showError(state, e);
            });
    }
    self.update(first);
    return self;
}

// "Create a sandbox from this template": a shape (GET /v1/shapes) and an optional name; enabled
// once the template is ready; goes to the new sandbox's page.
function createForm(first) {
    let tpl = first;
    const shape = h("select", { id: "tpl-sb-shape" }, h("option", { value: DEFAULT_SHAPE }, DEFAULT_SHAPE));
    const name = h("input", { id: "tpl-sb-name", autocomplete: "off", spellcheck: "false", maxlength: 63,
        placeholder: "generated when empty" });
    const hint = h("p", { class: "hint" });
    const go = button("Create a sandbox from this template", async () => {
        const body = { shape: shape.value, rootfs: tpl.name };
        if (name.value.trim()) body.name = name.value.trim();
        const sb = await api("POST", "/v1/sandboxes", { body });
        navigate(`/sandboxes/${encodeURIComponent(sb.id)}`);
    }, { kind: "primary", id: "tpl-create-sb" });
    fetchAll("/v1/shapes").then((shapes) => {
        if (!shapes.length) return;
        replace(shape, shapes.map((s) => h("option", { value: s.id }, `${s.id} (${s.vcpu} vCPU, ${fmtBytes(s.mem_mib * 1048576)})`)));
        shape.value = shapes.some((s) => s.id === DEFAULT_SHAPE) ? DEFAULT_SHAPE : shapes[0].id;
    }).catch((e) => showError(shape, e));
    return {
        el: section("New sandbox",
            h("div", { class: "form-grid" }, field("Shape", shape), field("Name (optional)", name)),
            hint, h("div", { class: "actions" }, go)),
        update(t) {
            tpl = t;
            const ready = t.status === "ready";
            if (go.getAttribute("aria-busy") !== "true") go.disabled = !ready;
            replace(hint, ready ? "The sandbox starts from this template's snapshot."
                : BUSY.has(t.status) ? "Available once the build is ready." : `This template is ${t.status}: no sandbox can start from it.`);
        },
    };
}
