// hosts.js: the hosts of this deployment, for admin keys (GET /v1/hosts, docs/api.md §2.11):
// id, status, the VMs each runs, the guest memory still free and the images it has, refreshed
// every 5 seconds while the page is shown. Today hearthd is one host.
import { h, replace } from "../dom.js";
import { api } from "../api.js";
import { isAdmin } from "../session.js";
import { fmtBytes, pageHeader, poll, showError, clearError, statusBadge, table } from "../ui.js";
import { needsAdmin } from "./needs_admin.js";

const EVERY_MS = 5000;

export async function render(main) {
    if (!isAdmin()) {
        needsAdmin(main, "Hosts", "The hosts list");
        return undefined;
    }
    const listSlot = h("div", { id: "hosts-list" });
    const status = h("p", { class: "hint", id: "hosts-updated", "aria-live": "polite" });

    async function load() {
        try {
            const page = await api("GET", "/v1/hosts", { query: { limit: 500 } });
            const rows = page.data || [];
            const t = table([
                { title: "Host", cell: (x) => h("strong", null, x.id) },
                { title: "Status", cell: (x) => statusBadge(x.status) },
                { title: "VMs running", cell: (x) => String(x.vm_count ?? "–"), class: "num" },
                { title: "Memory free for guests", cell: (x) => (x.free_mib === undefined ? "–" : fmtBytes(x.free_mib * 1048576)), class: "num" },
                { title: "Images", cell: (x) => (x.rootfses?.length ? x.rootfses.map((r) => h("code", { class: "image" }, r)) : "none") },
            ], rows, { label: "Hosts", rowKey: (x) => x.id, empty: "No hosts." });
            t.querySelector("table").classList.add("stack");
            replace(listSlot, t);
            clearError(status);
            replace(status, `${rows.length} host${rows.length === 1 ? "" : "s"}; updated ${new Date().toLocaleTimeString()}, every ${EVERY_MS / 1000} s`);
        } catch (e) {
            showError(status, e);
        }
    }

    replace(main, pageHeader("Hosts"), h("section", { class: "card" }, status, listSlot));
    await load();
    let first = true;
    // poll() runs at once: the first round is the load above
    return poll(async () => {
        if (first) { first = false; return; }
        await load();
    }, EVERY_MS);
}
