// keys.js: API keys, for admin keys (docs/api.md §5.1): the active keys of every user (or one),
// create one — its value is shown once, here, with a copy button, and never again: hearth
// keeps only its hash — and revoke one after a confirmation (at once; the API refuses the last
// active admin key). Labels and user names are text, never markup. A key that is not an admin
// key gets a message instead (the API would answer 403 anyway).
import { h, replace } from "../dom.js";
import { api } from "../api.js";
import { apiKey, isAdmin, who } from "../session.js";
import { button, confirmDialog, field, fmtTime, pageHeader, section, showError, clearError, table } from "../ui.js";
import { needsAdmin } from "./needs_admin.js";

const USER_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const LABEL_MAX = 200; // characters (code points), as the API counts them
const PAGE = 50;

// A problem with the form's values, found before anything is sent; null when fine.
function checkForm(user, label) {
    if (user && !USER_RE.test(user)) {
        return "user: lower-case letters, digits, _ and -, starting with a letter or digit, at most 63";
    }
    if ([...label].length > LABEL_MAX) return `label: at most ${LABEL_MAX} characters`;
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f-\u009f]/.test(label)) return "label: no control characters (tabs, new lines)";
    return null;
}

// The panel that shows a new key's value once.
function newKeyPanel(k, onDone) {
    const value = h("input", {
        id: "new-key-value", "data-testid": "new-key-value", class: "key-value", type: "text",
        readonly: true, value: k.key, spellcheck: "false", autocomplete: "off",
        "aria-describedby": "new-key-warning",
    });
    const copy = button("Copy", async () => {
        value.select();
        try {
            await navigator.clipboard.writeText(k.key);
        } catch {
            throw new Error("The browser did not allow copying: the key is selected, press Ctrl+C.");
        }
        copy.textContent = "Copied";
    }, { id: "new-key-copy", kind: "primary" });
    const done = button("I have copied it", async () => onDone(), { id: "new-key-done" });
    const panel = h("section", { class: "card new-key", id: "new-key", "aria-labelledby": "new-key-title", tabindex: "-1" },
        h("h2", { id: "new-key-title" }, "New key for user ", h("strong", null, k.user_id),
            k.admin ? h("span", { class: "badge" }, "admin") : null),
        h("p", { id: "new-key-warning", class: "key-warning", role: "alert" },
            "This is the only time this key is shown. Copy it now and keep it secret: hearth stores only "
            + "its hash and cannot show it again. Anyone holding it acts as ",
            h("strong", null, k.user_id), k.admin ? " with admin rights." : "."),
        h("label", { for: "new-key-value", class: "field-label" }, "Key ", h("code", null, k.id)),
        h("div", { class: "key-row" }, value, copy),
        h("div", { class: "actions" }, done));
    return panel;
}

export async function render(main) {
    if (!isAdmin()) {
        needsAdmin(main, "API keys", "Managing API keys");
        return undefined;
    }
    let offset = 0;
    let filter = "";
    const listSlot = h("div", { id: "keys-list" });
    const panelSlot = h("div", { id: "new-key-slot" });
    const status = h("p", { class: "hint", id: "keys-count", "aria-live": "polite" });
    const mine = (apiKey() || "").slice(0, 10);

    const user = h("input", { id: "key-user", name: "user", type: "text", autocomplete: "off",
        spellcheck: "false", maxlength: 63, placeholder: who()?.user_id || "admin" });
    const label = h("input", { id: "key-label", name: "label", type: "text", autocomplete: "off", maxlength: 400 });
    const admin = h("input", { id: "key-admin", name: "admin", type: "checkbox" });
    const create = button("Create key", async () => {
        const u = user.value.trim();
        const l = label.value;
        const bad = checkForm(u, l);
        if (bad) throw new Error(bad);
        const body = { label: l, admin: admin.checked };
        if (u) body.user = u;
        const k = await api("POST", "/v1/keys", { body });
        const panel = newKeyPanel(k, () => { replace(panelSlot); create.focus(); });
        replace(panelSlot, panel);
        panel.focus();
        user.value = "";
        label.value = "";
        admin.checked = false;
        offset = 0;
        await load();
    }, { id: "key-create", kind: "primary", type: "submit" });
    const form = h("form", { class: "key-form", "aria-label": "Create an API key",
        on: { submit: (e) => e.preventDefault() } },
    h("div", { class: "form-grid" },
        field("User", user, "Empty: your own user. A new name creates that user."),
        field("Label", label, `Optional, at most ${LABEL_MAX} characters; for people.`)),
    h("label", { class: "check" }, admin, " Admin key (may manage keys and see hosts)"),
    h("div", { class: "actions" }, create));

    const filterInput = h("input", { id: "keys-filter", type: "search", name: "user-filter", autocomplete: "off",
        spellcheck: "false", maxlength: 63, placeholder: "every user" });
    const apply = button("Show", async () => {
        const f = filterInput.value.trim();
        if (f && !USER_RE.test(f)) throw new Error("not a user name");
        filter = f;
        offset = 0;
        await load();
    }, { id: "keys-filter-apply" });
    filterInput.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); apply.click(); } });

    async function revoke(k) {
        const self = k.prefix === mine;
        const ok = await confirmDialog(
            `Revoke key ${k.id} of user ${k.user_id}${k.label ? ` (“${k.label}”)` : ""}? Every request `
            + `with it fails from now on.${self ? " It is the key you are signed in with: you will be signed out." : ""}`,
            { confirm: "Revoke", danger: true });
        if (!ok) return;
        await api("DELETE", `/v1/keys/${encodeURIComponent(k.id)}`);
        await load();
    }

    function draw(page) {
        const rows = page.data || [];
        const t = table([
            { title: "Key", cell: (k) => [h("code", null, k.id), h("br"), h("span", { class: "hint mono" }, `${k.prefix}…`),
                k.prefix === mine ? h("span", { class: "badge", title: "the key of this session" }, "you") : null] },
            { title: "User", cell: (k) => k.user_id },
            { title: "Label", cell: (k) => k.label || h("span", { class: "hint" }, "–"), class: "key-label" },
            { title: "Admin", cell: (k) => (k.admin ? h("span", { class: "badge" }, "admin") : "no") },
            { title: "Created", cell: (k) => fmtTime(k.created_at) },
            { title: "Last used", cell: (k) => (k.last_used_at ? fmtTime(k.last_used_at) : "never") },
            { title: "", cell: (k) => button("Revoke", () => revoke(k), { kind: "danger", testid: `revoke-${k.id}`,
                label: `Revoke key ${k.id} of ${k.user_id}` }) },
        ], rows, { label: "API keys", rowKey: (k) => k.id, empty: "No active keys." });
        t.querySelector("table").classList.add("stack");
        const total = page.pagination?.total ?? rows.length;
        replace(status, total ? `Keys ${offset + 1}–${offset + rows.length} of ${total}${filter ? ` of user ${filter}` : ""}`
            : "No keys.");
        const prev = offset > 0 ? button("Previous", async () => { offset = Math.max(0, offset - PAGE); await load(); }) : null;
        const next = offset + rows.length < total ? button("Next", async () => { offset += PAGE; await load(); }) : null;
        replace(listSlot, t, prev || next ? h("div", { class: "actions pager" }, prev, next) : null);
    }

    async function load() {
        clearError(status);
        try {
            draw(await api("GET", "/v1/keys", { query: { limit: PAGE, offset, user: filter || undefined } }));
        } catch (e) {
            showError(status, e);
        }
    }

    replace(main, pageHeader("API keys"),
        section("Create a key", form),
        panelSlot,
        h("section", { class: "card" }, h("h2", null, "Active keys"),
            h("div", { class: "keys-filter" }, field("Only the keys of user", filterInput), apply),
            status, listSlot));
    await load();
    return undefined;
}
