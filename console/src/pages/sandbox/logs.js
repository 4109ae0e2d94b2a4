// logs.js: the sandbox's "Logs & events" tab. The console log (docs/api.md §5.7: the guest's
// serial console as plain text; ?tail=N keeps the last N lines, ?follow=true keeps the reply
// open and streams what the guest appends until the sandbox stops running) and the event log
// (§5.6: what happened to the sandbox and who asked, paged by seq). Everything the guest wrote
// is shown as text: control and escape sequences are dropped, nothing becomes markup.
import { h, replace } from "../../dom.js";
import { api } from "../../api.js";
import { button, field, poll, section, showError, table, fmtTime } from "../../ui.js";

const TAILS = [["100", "last 100 lines"], ["500", "last 500 lines"], ["2000", "last 2,000 lines"],
               ["10000", "last 10,000 lines"], ["", "everything kept (newest 1 MiB)"]];
// the page keeps at most this much console text; older text is dropped from the top
const KEEP_CHARS = 2 * 1024 * 1024;
const EVENTS_MS = 3000;

// Terminal escapes (CSI, OSC, two-byte ESC sequences) and control characters other than tab
// and newline: a console log is full of them and they mean nothing in a <pre>.
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|[\x00-\x08\x0b-\x1f\x7f]/g;

// an escape sequence that is whole (the start of a chunk's tail)
const COMPLETE = /^\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/;

export function cleanText(s) {
    return s.replace(/\r\n/g, "\n").replace(ESCAPES, "");
}

export function render(panel, ctx) {
    const stopLog = consoleLog(panel, ctx);
    const stopEvents = events(panel, ctx);
    return () => {
        stopLog();
        stopEvents();
    };
}

// The console log section; returns its cleanup.
function consoleLog(panel, ctx) {
    const path = `/v1/sandboxes/${encodeURIComponent(ctx.id)}/logs`;
    const tail = h("select", { id: "logs-tail" },
        TAILS.map(([v, label]) => h("option", { value: v, selected: v === "500" }, label)));
    const follow = h("input", { type: "checkbox", id: "logs-follow" });
    const state = h("span", { class: "hint", id: "logs-state", role: "status" });
    const pre = h("pre", { class: "console-log", id: "console-log", tabindex: "0",
                           role: "log", "aria-live": "off", "aria-label": "Console log" });
    const jump = h("button", { type: "button", class: "btn btn-quiet", id: "logs-jump", hidden: true },
        "Jump to the newest line");
    let controller = null;
    let stick = true; // follow the bottom until the reader scrolls up
    let kept = 0;
    let closed = false;
    let ended = false; // a followed stream ended (the sandbox stopped running)

    const atBottom = () => pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
    pre.addEventListener("scroll", () => {
        stick = atBottom();
        jump.hidden = stick;
    });
    jump.addEventListener("click", () => {
        stick = true;
        jump.hidden = true;
        pre.scrollTop = pre.scrollHeight;
    });
    const add = (text) => {
        if (!text) return;
        pre.appendChild(document.createTextNode(text));
        kept += text.length;
        if (kept > KEEP_CHARS) { // keep the newest half; cut at a line start
            let all = pre.textContent;
            all = all.slice(all.length - KEEP_CHARS / 2);
            const nl = all.indexOf("\n");
            if (nl >= 0) all = all.slice(nl + 1);
            replace(pre, all);
            kept = all.length;
        }
        if (stick) pre.scrollTop = pre.scrollHeight;
    };
    const reset = () => {
        replace(pre);
        kept = 0;
        stick = true;
        jump.hidden = true;
    };

    // Reads the log once (or follows it) into the <pre>; a previous read is aborted first.
    const load = async () => {
        if (controller) controller.abort();
        const mine = new AbortController();
        controller = mine;
        const query = { tail: tail.value || undefined, follow: follow.checked ? "true" : undefined };
        showError(tail, null);
        ended = false;
        reset();
        replace(state, follow.checked ? "Following…" : "Loading…");
        try {
            const r = await api("GET", path, { query, raw: true, signal: mine.signal });
            const reader = r.body.getReader();
            const dec = new TextDecoder();
            let carry = ""; // an escape sequence may be split across chunks
            for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                const s = carry + dec.decode(value, { stream: true });
                const cut = s.lastIndexOf("\x1b");
                const safe = cut >= 0 && s.length - cut < 64 && !COMPLETE.test(s.slice(cut)) ? cut : s.length;
                carry = s.slice(safe);
                add(cleanText(s.slice(0, safe)));
            }
            add(cleanText(carry + dec.decode()));
            if (controller !== mine) return;
            if (!pre.firstChild) replace(pre, h("span", { class: "hint" }, "The console log is empty."));
            ended = follow.checked;
            replace(state, follow.checked
                ? "The stream ended: the sandbox stopped running. Following starts again when it runs."
                : `Loaded at ${new Date().toLocaleTimeString()}.`);
        } catch (e) {
            if (e.name === "AbortError" || controller !== mine) return;
            replace(state, "");
            showError(tail, e);
        } finally {
            if (controller === mine) controller = null;
        }
    };

    tail.addEventListener("change", load);
    follow.addEventListener("change", load);
    // a resume starts a new console log: pick the stream up again when following
    const unsub = ctx.onChange((sb) => {
        if (!closed && ended && follow.checked && sb.status === "running" && !controller) load();
    });
    const reload = button("Reload", () => load(), { id: "logs-reload" });

    panel.appendChild(section("Console log",
        h("p", { class: "hint" }, "The guest's serial console: kernel messages and whatever is written to ",
            h("code", null, "/dev/console"), ". It holds the current run only: a resume starts a new log."),
        h("div", { class: "log-toolbar" },
            field("Show", tail),
            h("label", { class: "check" }, follow, " Follow new lines"),
            reload, state),
        pre, jump));
    load();
    return () => {
        closed = true;
        unsub();
        if (controller) controller.abort();
    };
}

// The event log section: every event kept (at most 256), newest first, polled for new ones.
function events(panel, ctx) {
    const path = `/v1/sandboxes/${encodeURIComponent(ctx.id)}/events`;
    const list = [];
    let after = 0;
    const box = h("div", { id: "events", "aria-live": "polite" }, h("p", { class: "hint" }, "Loading…"));
    const draw = () => {
        const rows = list.slice().reverse();
        replace(box, table([
            { title: "#", cell: (e) => String(e.seq), class: "num" },
            { title: "When", cell: (e) => fmtTime(e.at) },
            { title: "Event", cell: (e) => h("code", null, e.kind) },
            { title: "By", cell: (e) => e.actor || "–" },
            { title: "Reason", cell: (e) => e.reason || "" },
            { title: "Detail", cell: (e) => e.detail || "" },
        ], rows, { label: "Events, newest first", empty: "No events yet.", rowKey: (e) => e.seq }));
    };
    const fetchNew = async () => {
        let grew = false;
        for (let i = 0; i < 8; i++) { // 8 pages of 256 cover more than the store keeps
            const d = await api("GET", path, { query: { after, limit: 256 } });
            const got = d.events || [];
            for (const e of got) list.push(e);
            if (got.length) grew = true;
            after = d.next_after ?? after;
            if (got.length < 256) break;
        }
        showError(box, null);
        if (list.length > 256) list.splice(0, list.length - 256);
        if (grew || !box.querySelector("table")) draw();
    };
    panel.appendChild(section("Events", h("p", { class: "hint" },
        "What happened to this sandbox and who asked (api, auto_pause, self: the guest, hearthd)."), box));
    return poll(fetchNew, EVENTS_MS, (e) => showError(box, e));
}
