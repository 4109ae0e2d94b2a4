// ui.js: the console's small widgets, shared by every page. Errors are shown where they
// happened: showError(control, err) puts the API's message in a live region right after the
// control that caused it.
import { h, append, clear, replace } from "./dom.js";

// Shows err's message (an ApiError's JSend message, or any Error) next to control: in the
// control's error slot (created after it on first use), role="alert" so screen readers say it.
export function showError(control, err) {
    const slot = errorSlot(control);
    replace(slot, err ? String(err.message || err) : "");
    slot.hidden = !err;
    if (err && err.name !== "ApiError") console.error(err);
}

export function clearError(control) {
    showError(control, null);
}

function errorSlot(control) {
    let slot = control.__errorSlot;
    if (!slot) {
        slot = h("span", { class: "error", role: "alert", hidden: true });
        control.after(slot);
        control.__errorSlot = slot;
    }
    return slot;
}

// A button that runs an async action: disabled and aria-busy while it runs, the error shown
// next to it. opts: kind ("primary" | "danger" | "quiet"), title, type, id, class, label for
// screen readers (aria-label).
export function button(label, action, opts = {}) {
    const b = h("button", {
        type: opts.type || "button",
        class: ["btn", opts.kind ? `btn-${opts.kind}` : null, opts.class].filter(Boolean).join(" "),
        title: opts.title,
        id: opts.id,
        "aria-label": opts.label,
        "data-testid": opts.testid,
    }, label);
    if (action) {
        b.addEventListener("click", async (ev) => {
            ev.preventDefault();
            if (b.disabled) return;
            b.disabled = true;
            b.setAttribute("aria-busy", "true");
            clearError(b);
            try {
                await action(ev);
            } catch (e) {
                if (e.name !== "AbortError") showError(b, e);
            } finally {
                b.disabled = false;
                b.removeAttribute("aria-busy");
            }
        });
    }
    return b;
}

// <label>text <input…></label> with an optional hint line; the control keeps its own id.
export function field(label, control, hint) {
    return h("label", { class: "field" }, h("span", { class: "field-label" }, label), control,
        hint ? h("small", { class: "hint" }, hint) : null);
}

// A modal confirmation (a <dialog>); resolves true when confirmed. opts: confirm (button
// text), danger (red button).
export function confirmDialog(message, opts = {}) {
    return new Promise((resolve) => {
        const ok = h("button", { type: "button", class: `btn ${opts.danger ? "btn-danger" : "btn-primary"}`,
                                 "data-testid": "confirm-ok" }, opts.confirm || "OK");
        const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
        const dlg = h("dialog", { class: "confirm", "aria-label": "Confirm" },
            h("p", null, message), h("div", { class: "actions" }, cancel, ok));
        const done = (v) => {
            dlg.close();
            dlg.remove();
            resolve(v);
        };
        ok.addEventListener("click", () => done(true));
        cancel.addEventListener("click", () => done(false));
        dlg.addEventListener("cancel", (e) => { e.preventDefault(); done(false); });
        document.body.appendChild(dlg);
        dlg.showModal();
        cancel.focus();
    });
}

// A table. columns: [{title, cell(row) -> node|string, class}]; opts: empty (text when there
// are no rows), caption, rowKey(row) (set as data-key on each <tr>), label (aria-label).
export function table(columns, rows, opts = {}) {
    const head = h("thead", null, h("tr", null, columns.map((c) => h("th", { scope: "col", class: c.class }, c.title))));
    const body = h("tbody", null);
    if (!rows.length) {
        body.appendChild(h("tr", null, h("td", { colspan: columns.length, class: "empty" }, opts.empty || "Nothing here yet.")));
    }
    for (const row of rows) {
        body.appendChild(h("tr", { "data-key": opts.rowKey ? opts.rowKey(row) : undefined },
            columns.map((c) => h("td", { class: c.class, "data-label": c.title }, c.cell(row)))));
    }
    return h("div", { class: "table-wrap" },
        h("table", { "aria-label": opts.label }, opts.caption ? h("caption", null, opts.caption) : null, head, body));
}

// A page's header: the title (an <h1>) and its actions on the right.
export function pageHeader(title, ...actions) {
    document.title = `${title} · hearth`;
    return h("header", { class: "page-header" }, h("h1", null, title), h("div", { class: "actions" }, actions));
}

export function statusBadge(status) {
    return h("span", { class: `badge status-${String(status).replace(/[^a-z_]/g, "")}` }, status);
}

export function fmtBytes(n) {
    if (n === undefined || n === null) return "–";
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    let v = Number(n);
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return `${i ? v.toFixed(v < 10 ? 1 : 0) : v} ${u[i]}`;
}

export function fmtTime(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

// Runs fn now and then every ms while the page is visible; returns stop(). fn's errors are
// passed to onError (default: ignored; the next round retries).
export function poll(fn, ms, onError) {
    let timer = null;
    let stopped = false;
    const round = async () => {
        timer = null;
        if (stopped) return;
        if (!document.hidden) {
            try { await fn(); } catch (e) { if (onError) onError(e); }
        }
        if (!stopped) timer = setTimeout(round, ms);
    };
    round();
    return () => {
        stopped = true;
        if (timer) clearTimeout(timer);
    };
}

// A tab bar of links (role="tablist"); current: the selected tab's key.
export function tabs(items, current) {
    return h("nav", { class: "tabs", "aria-label": "Sections" },
        items.map(([key, label, href]) => h("a", {
            href, class: key === current ? "tab current" : "tab",
            "aria-current": key === current ? "page" : undefined,
        }, label)));
}

// A <section> with a heading (h2) and content.
export function section(title, ...content) {
    return h("section", { class: "card" }, h("h2", null, title), content);
}

export { h, append, clear, replace };
