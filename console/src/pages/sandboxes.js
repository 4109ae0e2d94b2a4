// sandboxes.js: the signed-in user's sandboxes (#/sandboxes): one page of GET /v1/sandboxes at
// a time (docs/api.md §1.10, newest first) with previous/next and the total, a status filter
// (the API's ?status=, applied before paging) and a name/id filter on the loaded page, quick
// pause/resume/destroy on each row. The page is read again every 2.5 s; rows are updated in
// place (kept by sandbox id), so focus and scroll survive a refresh. The filters and the page
// live in memory for the tab's session: coming back to the list shows the same view.
import { h, replace } from "../dom.js";
import { api } from "../api.js";
import { button, confirmDialog, field, fmtBytes, fmtTime, pageHeader, poll, showError, statusBadge } from "../ui.js";

const PAGE = 50;
const STATES = ["creating", "running", "pausing", "paused", "resuming", "forking", "error",
    "destroying", "destroyed", "failed"];
// kept across visits (in memory only)
const view = { status: "", offset: 0, text: "" };

const COLUMNS = [
    ["name", "Name"], ["id", "ID"], ["status", "Status"], ["rootfs", "Image / template"],
    ["shape", "Shape"], ["ip", "IP"], ["created", "Created"], ["actions", "Actions"],
];

function shapeText(sb) {
    return `${sb.shape}|${sb.vcpu}|${sb.mem_mib}`;
}

function matches(sb, text) {
    if (!text) return true;
    const t = text.toLowerCase();
    return String(sb.name).toLowerCase().includes(t) || String(sb.id).toLowerCase().includes(t);
}

// One row: its cells are rebuilt only when the value they show changed; the action buttons
// are made once and only enabled or disabled, so a focused button keeps its focus.
function makeRow(sb, reload) {
    const cells = {};
    for (const [k, title] of COLUMNS) cells[k] = h("td", { "data-label": title, class: `col-${k}` });
    const tr = h("tr", { "data-key": sb.id, "data-testid": "sandbox-row" }, COLUMNS.map(([k]) => cells[k]));
    const row = { tr, cells, sb: null, shown: {} };
    const act = (path) => async () => {
        await api("POST", `/v1/sandboxes/${encodeURIComponent(row.sb.id)}/${path}`);
        await reload();
    };
    row.pause = button("Pause", act("pause"), { class: "btn-small", label: `Pause ${sb.name}`, testid: "row-pause" });
    row.resume = button("Resume", act("resume"), { class: "btn-small", label: `Resume ${sb.name}`, testid: "row-resume" });
    row.destroy = button("Destroy", async () => {
        const ok = await confirmDialog(`Destroy sandbox ${row.sb.name} (${row.sb.id})? Its disk and snapshot are deleted; there is no undo.`,
            { confirm: "Destroy", danger: true });
        if (!ok) return;
        await api("DELETE", `/v1/sandboxes/${encodeURIComponent(row.sb.id)}`);
        await reload();
    }, { class: "btn-small", label: `Destroy ${sb.name}`, testid: "row-destroy" });
    replace(cells.actions, h("div", { class: "row-actions" }, row.pause, row.resume, row.destroy));
    updateRow(row, sb);
    return row;
}

function setCell(row, key, text, make) {
    if (row.shown[key] === text) return;
    row.shown[key] = text;
    replace(row.cells[key], make ? make() : text);
}

function updateRow(row, sb) {
    row.sb = sb;
    setCell(row, "name", sb.name, () => h("a", { href: `#/sandboxes/${encodeURIComponent(sb.id)}` }, sb.name));
    setCell(row, "id", sb.id, () => h("code", null, sb.id));
    setCell(row, "status", sb.status, () => statusBadge(sb.status));
    const tpl = String(sb.rootfs || "").startsWith("tpl_");
    setCell(row, "rootfs", sb.rootfs, () => (tpl ? h("a", { href: `#/templates/${encodeURIComponent(sb.rootfs)}` }, sb.rootfs) : sb.rootfs));
    setCell(row, "shape", shapeText(sb), () => [sb.shape,
        h("span", { class: "sub" }, `${sb.vcpu} vCPU, ${fmtBytes(sb.mem_mib * 1048576)}`)]);
    setCell(row, "ip", sb.ip || "–");
    setCell(row, "created", sb.created_at, () => h("time", { datetime: sb.created_at }, fmtTime(sb.created_at)));
    // a busy button (its action running) is left alone: button() re-enables it when done
    if (!row.pause.hasAttribute("aria-busy")) row.pause.disabled = sb.status !== "running";
    if (!row.resume.hasAttribute("aria-busy")) row.resume.disabled = !["paused", "error"].includes(sb.status);
    if (!row.destroy.hasAttribute("aria-busy")) row.destroy.disabled = ["destroyed", "destroying"].includes(sb.status);
}

export async function render(main) {
    const statusSel = h("select", { id: "sandboxes-status", "data-testid": "status-filter" },
        h("option", { value: "" }, "All"),
        STATES.map((s) => h("option", { value: s, selected: s === view.status }, s)));
    const textIn = h("input", { id: "sandboxes-filter", type: "search", value: view.text, maxlength: "100",
        autocomplete: "off", placeholder: "name or id" });
    const summary = h("p", { class: "list-summary", id: "sandboxes-summary", "aria-live": "polite" }, "Loading…");
    const prev = h("button", { type: "button", class: "btn", id: "sandboxes-prev" }, "← Previous");
    const next = h("button", { type: "button", class: "btn", id: "sandboxes-next" }, "Next →");
    const pager = h("nav", { class: "pager", "aria-label": "Pages" }, prev, summary, next);
    const tbody = h("tbody", null);
    const empty = h("tr", { class: "empty-row" }, h("td", { colspan: COLUMNS.length, class: "empty" }, "Loading…"));
    tbody.appendChild(empty);
    const tableEl = h("table", { class: "stack sandbox-list", id: "sandboxes-table", "aria-label": "Sandboxes" },
        h("thead", null, h("tr", null, COLUMNS.map(([k, t]) => h("th", { scope: "col", class: `col-${k}` }, t)))),
        tbody);
    const problem = h("span", { class: "list-problem" });

    replace(main,
        pageHeader("Sandboxes", h("a", { class: "btn btn-primary", href: "#/sandboxes/new", id: "sandboxes-new" }, "New sandbox")),
        h("div", { class: "list-filters" },
            field("Status", statusSel, "Asks the server: every page is filtered."),
            field("Name or id", textIn, "Filters the rows of the page shown only."),
            problem),
        h("div", { class: "table-wrap" }, tableEl),
        pager);

    const rows = new Map(); // id -> row
    let last = null; // the page's data as loaded
    let seq = 0;

    function draw() {
        const list = last ? last.data.filter((sb) => matches(sb, view.text)) : [];
        const active = document.activeElement;
        const keep = new Set(list.map((sb) => sb.id));
        for (const [id, row] of rows) {
            if (!keep.has(id)) {
                row.tr.remove();
                rows.delete(id);
            }
        }
        let at = tbody.firstChild;
        if (at === empty && list.length) {
            empty.remove();
            at = tbody.firstChild;
        }
        for (const sb of list) {
            let row = rows.get(sb.id);
            if (!row) {
                row = makeRow(sb, reload);
                rows.set(sb.id, row);
            } else {
                updateRow(row, sb);
            }
            if (row.tr !== at) tbody.insertBefore(row.tr, at);
            else at = at.nextSibling;
        }
        if (!list.length) {
            replace(empty.firstChild, !last ? "Loading…"
                : last.data.length ? "No sandbox on this page matches the name or id filter."
                    : view.status ? `No sandbox is ${view.status}.` : "No sandboxes yet. Create one with “New sandbox”.");
            if (!empty.parentNode) tbody.appendChild(empty);
        }
        // a row moved by insertBefore loses focus: give it back
        if (active && active !== document.activeElement && active.isConnected) active.focus({ preventScroll: true });
        if (last) {
            const p = last.pagination;
            const from = p.total ? p.offset + 1 : 0;
            const to = p.offset + last.data.length;
            const hidden = last.data.length - list.length;
            replace(summary, `${from}–${to} of ${p.total}${view.status ? ` ${view.status}` : ""}`,
                hidden ? ` (${hidden} hidden by the name filter)` : "");
            tableEl.dataset.total = String(p.total);
            tableEl.dataset.offset = String(p.offset);
            prev.disabled = p.offset <= 0;
            next.disabled = p.offset + last.data.length >= p.total;
        } else {
            prev.disabled = next.disabled = true;
        }
    }

    async function reload() {
        const mine = ++seq;
        const d = await api("GET", "/v1/sandboxes", { query: { limit: PAGE, offset: view.offset, status: view.status } });
        if (mine !== seq) return; // a newer request (paging, filter) went out meanwhile
        // rows vanished under the page (destroyed, retention): go back to the last page
        if (!d.data.length && d.pagination.total > 0 && view.offset > 0) {
            view.offset = Math.max(0, Math.floor((d.pagination.total - 1) / PAGE) * PAGE);
            return reload();
        }
        last = d;
        showError(problem, null);
        draw();
    }

    const go = async (offset) => {
        view.offset = Math.max(0, offset);
        try { await reload(); } catch (e) { showError(problem, e); }
    };
    prev.addEventListener("click", () => go(view.offset - PAGE));
    next.addEventListener("click", () => go(view.offset + PAGE));
    statusSel.addEventListener("change", () => {
        view.status = statusSel.value;
        last = null;
        go(0);
    });
    textIn.addEventListener("input", () => {
        view.text = textIn.value;
        draw();
    });

    try {
        await reload();
    } catch (e) {
        showError(problem, e);
        draw();
    }
    let first = true;
    return poll(async () => {
        if (first) { first = false; return; } // the first round was the load above
        await reload();
    }, 2500, (e) => showError(problem, e));
}
