// pager.js: paginated lists (docs/api.md §1.10): one page of a list route, and the
// Previous/Next bar under its table. A list is {data: [...], pagination: {total, limit,
// offset, count}}; pages of the console keep the offset and redraw on change.
import { h } from "./dom.js";
import { api } from "./api.js";

export const PAGE = 50;

// One page: resolves {items, total, offset, limit}.
export async function fetchPage(path, offset = 0, limit = PAGE, query = {}, opts = {}) {
    const d = await api("GET", path, { ...opts, query: { ...query, limit, offset } });
    const p = d?.pagination || {};
    const items = Array.isArray(d?.data) ? d.data : [];
    return { items, total: p.total ?? items.length, offset: p.offset ?? offset, limit: p.limit ?? limit };
}

// Every item of a list route, page by page (at most max items; for small per-user lists).
export async function fetchAll(path, { query = {}, max = 2000, signal } = {}) {
    const out = [];
    for (let offset = 0; out.length < max;) {
        const pg = await fetchPage(path, offset, 500, query, { signal });
        out.push(...pg.items);
        offset += pg.items.length;
        if (!pg.items.length || offset >= pg.total) break;
    }
    return out;
}

// The bar under a table: "1–50 of 123" and Previous/Next buttons calling go(newOffset).
// Nothing is shown while everything fits on one page.
export function pagerBar(page, go, testid) {
    const { total, offset, limit } = page;
    if (total <= limit && offset === 0) return null;
    const last = Math.min(offset + page.items.length, total);
    const prev = h("button", {
        type: "button", class: "btn", disabled: offset <= 0,
        on: { click: () => go(Math.max(0, offset - limit)) },
    }, "Previous");
    const next = h("button", {
        type: "button", class: "btn", disabled: last >= total,
        on: { click: () => go(offset + limit) },
    }, "Next");
    return h("nav", { class: "pager", "aria-label": "Pages", "data-testid": testid },
        prev, h("span", { class: "hint" }, `${total ? offset + 1 : 0}–${last} of ${total}`), next);
}

// ui.table()'s wrapper with its table folding into one card per row on a phone (style.css
// table.stack).
export function stacked(wrap) {
    wrap.querySelector("table")?.classList.add("stack");
    return wrap;
}
