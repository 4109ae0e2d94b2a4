// networks.js: private networks (docs/api.md §3.8): the list, create (a name is all a network
// takes), delete (refused with 409 while a sandbox is a member: the message says how many), and
// one network's members (GET /v1/networks/{ref}) linking to their sandboxes. Sandboxes join and
// leave on their own page (the sandbox's Network tab) or at create.
import { h, replace } from "../dom.js";
import { api } from "../api.js";
import { button, confirmDialog, field, pageHeader, section, statusBadge, table, fmtTime, showError,
    clearError } from "../ui.js";
import { fetchPage, pagerBar, stacked, PAGE } from "../pager.js";
import { NAME_RE, NAME_RULE, placeFieldErrors } from "../forms.js";

export function render(main) {
    const listBox = h("div", { "data-testid": "networks-list" }, h("p", { class: "hint" }, "Loading…"));
    const listErr = h("span");
    const members = h("div", { id: "net-members", "aria-live": "polite" });
    let offset = 0;
    let shown = null; // the network whose members are shown

    async function refresh() {
        let pg;
        try {
            pg = await fetchPage("/v1/networks", offset, PAGE);
        } catch (e) {
            showError(listErr, e);
            return;
        }
        clearError(listErr);
        replace(listBox, networkTable(pg.items),
            pagerBar(pg, (o) => { offset = o; refresh(); }));
        if (shown && !pg.items.some((n) => n.id === shown)) {
            shown = null;
            replace(members);
        }
    }

    async function showMembers(net) {
        shown = net.id;
        const n = await api("GET", `/v1/networks/${encodeURIComponent(net.id)}`);
        const list = Array.isArray(n.members) ? n.members : [];
        replace(members, section(`Members of ${n.name}`,
            stacked(table([
                { title: "Sandbox", cell: (m) => h("a", { href: `#/sandboxes/${encodeURIComponent(m.sandbox_id)}` }, m.name || m.sandbox_id) },
                { title: "Status", cell: (m) => statusBadge(m.status) },
                { title: "Address here", cell: (m) => (m.ip ? h("code", null, m.ip) : "–") },
                { title: "ID", cell: (m) => h("code", null, m.sandbox_id) },
            ], list, { empty: "No sandbox is a member. Attach one from its Network tab, or name this network at create.",
                rowKey: (m) => m.sandbox_id, label: `Members of ${n.name}` })),
            h("p", { class: "hint" }, "Members reach each other on every port and resolve each other as ",
                h("code", null, `<hostname>.${n.name}.hearth.internal`), ".")));
    }

    function networkTable(items) {
        return stacked(table([
            { title: "Name", cell: (n) => h("span", { class: "name" }, n.name) },
            { title: "Members", cell: (n) => String(n.member_count ?? 0) },
            { title: "Created", cell: (n) => fmtTime(n.created_at) },
            { title: "ID", cell: (n) => h("code", null, n.id) },
            { title: "", class: "row-actions", cell: (n) => h("div", { class: "actions" },
                button("Members", () => showMembers(n), { testid: "net-members", label: `Members of ${n.name}` }),
                button("Delete", async () => {
                    const sure = await confirmDialog(`Delete the network "${n.name}"?`, { confirm: "Delete", danger: true });
                    if (!sure) return;
                    await api("DELETE", `/v1/networks/${encodeURIComponent(n.id)}`);
                    await refresh();
                }, { kind: "danger", testid: "net-delete", label: `Delete ${n.name}` })) },
        ], items, { empty: "No networks yet.", rowKey: (n) => n.id, label: "Networks" }));
    }

    const name = h("input", { id: "net-name", name: "name", required: true, autocomplete: "off",
        spellcheck: "false", maxlength: 63, placeholder: "backend" });
    const create = button("Create", async () => {
        clearError(name);
        const v = name.value.trim();
        if (!NAME_RE.test(v) || v.startsWith("net-")) {
            showError(name, new Error(v.startsWith("net-") ? "A network name may not start with net-." : NAME_RULE));
            return;
        }
        try {
            await api("POST", "/v1/networks", { body: { name: v } });
        } catch (e) {
            if (!placeFieldErrors(e, { name })) throw e;
            return;
        }
        name.value = "";
        offset = 0;
        await refresh();
    }, { kind: "primary", id: "net-create", type: "submit" });
    const form = h("form", { class: "inline-form", novalidate: true, on: { submit: (e) => e.preventDefault() } },
        field("Name", name, "Lower-case letters, digits and '-'."), h("div", { class: "actions" }, create));

    replace(main,
        pageHeader("Networks"),
        h("p", { class: "hint" }, "A private network joins your sandboxes to each other, cut off from other networks, ",
            "other users and the internet."),
        section("New network", form),
        section("Your networks", listErr, listBox),
        members);
    return refresh();
}
