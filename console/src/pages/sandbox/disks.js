// disks.js: the sandbox's "Disks" tab: the S3 disks mounted in it (docs/api.md §3.9.7, with
// each mount's status and its error), attaching one of the user's disks at a path while it runs
// (§3.9.6), and detaching a mount after a confirmation (§3.9.9). Without the operator's disk
// configuration every route answers 503 disks_not_configured: the tab says so and offers nothing.
import { h, replace } from "../../dom.js";
import { api, ApiError } from "../../api.js";
import { button, clearError, confirmDialog, field, poll, section, showError, table } from "../../ui.js";

const POLL_MS = 3000;
const MAX_PATH = 511;
const MAX_SUB = 1024;

// A client-side check of a mount path (§3.9.6): the server decides, this only catches typos.
export function mountPathProblem(p) {
    if (!p.startsWith("/")) return "an absolute path, e.g. /mnt/data";
    if (p === "/") return "not / itself";
    if (p.length > MAX_PATH) return `at most ${MAX_PATH} characters`;
    if (p.endsWith("/") || p.split("/").slice(1).some((s) => s === "" || s === "." || s === "..")) {
        return "a normalised path: no empty, . or .. segment, no trailing /";
    }
    return null;
}

export function render(panel, ctx) {
    const base = `/v1/sandboxes/${encodeURIComponent(ctx.id)}`;
    const box = h("div", { id: "sb-disks" }, h("p", { class: "hint" }, "Loading…"));
    const select = h("select", { id: "disk-attach-select" });
    const mountPath = h("input", { type: "text", id: "disk-mount-path", class: "mono", placeholder: "/mnt/data",
                                   maxlength: MAX_PATH, spellcheck: "false", autocomplete: "off" });
    const subPath = h("input", { type: "text", id: "disk-sub-path", class: "mono", placeholder: "(the whole bucket)",
                                 maxlength: MAX_SUB, spellcheck: "false", autocomplete: "off" });
    const form = h("form", { class: "inline-form", on: { submit: (e) => e.preventDefault() } });
    let stopped = false;

    const drawMounts = (mounts) => {
        replace(box, table([
            { title: "Disk", cell: (m) => h("a", { href: "#/disks" }, m.name) },
            { title: "Mounted at", cell: (m) => h("code", null, m.mount_path) },
            { title: "Bucket", cell: (m) => h("span", { class: "mono" }, m.config?.bucket || "", m.sub_path ? `/${m.sub_path}` : "") },
            { title: "Status", cell: (m) => h("span", null, h("span", { class: `badge mount-${m.mount_status}` }, m.mount_status),
                m.mount_error ? h("span", { class: "mount-error" }, ` ${m.mount_error}`) : null) },
            { title: "", cell: (m) => m.mount_status === "unmounting" ? h("span", { class: "hint" }, "detaching…")
                : button("Detach", async () => {
                    const ok = await confirmDialog(`Detach "${m.name}" from ${m.mount_path}? Files open there keep working until closed; the bucket keeps its contents.`,
                        { confirm: "Detach", danger: true });
                    if (!ok) return;
                    await api("DELETE", `${base}/disks/${encodeURIComponent(m.disk_id)}`, { query: { mount_path: m.mount_path } });
                    await refresh();
                }, { kind: "danger", label: `Detach ${m.name} from ${m.mount_path}`, testid: `disk-detach-${m.name}` }) },
        ], mounts, { label: "Disks mounted in this sandbox", empty: "No disk is mounted.", rowKey: (m) => `${m.disk_id} ${m.mount_path}` }));
    };
    const refresh = async () => {
        const d = await api("GET", `${base}/disks`, { query: { limit: 500 } });
        if (!stopped) drawMounts(d.data || []);
    };
    const loadChoices = async () => {
        const d = await api("GET", "/v1/disks", { query: { limit: 500 } });
        const disks = d.data || [];
        replace(select, disks.length ? disks.map((k) => h("option", { value: k.id }, k.name))
            : h("option", { value: "" }, "no disk yet"));
        attach.disabled = !disks.length;
    };
    const attach = button("Attach", async () => {
        clearError(mountPath);
        clearError(subPath);
        if (!select.value) throw new ApiError(0, "Register a disk first (the Disks page).");
        const mp = mountPath.value.trim();
        const bad = mountPathProblem(mp);
        if (bad) {
            showError(mountPath, bad);
            throw new ApiError(0, "Not attached: check the mount path.");
        }
        if (ctx.sb.status !== "running") throw new ApiError(0, `The sandbox is ${ctx.sb.status}: disks attach to a running sandbox.`);
        const body = { disk_id: select.value, mount_path: mp };
        const sp = subPath.value.trim();
        if (sp) body.sub_path = sp;
        try {
            await api("POST", `${base}/disks`, { body });
        } catch (e) {
            const f = e.fields || {};
            if (f.mount_path) showError(mountPath, f.mount_path);
            if (f.sub_path) showError(subPath, f.sub_path);
            throw e;
        }
        mountPath.value = "";
        subPath.value = "";
        await refresh();
    }, { kind: "primary", id: "disk-attach", type: "submit" });

    replace(form, field("Disk", select), field("Mount path", mountPath), field("Prefix in the bucket (optional)", subPath), attach);
    const intro = h("p", { class: "hint" }, "S3 buckets registered on the ", h("a", { href: "#/disks" }, "Disks page"),
        ", seen in the sandbox as directories. A mount goes pending → mounted within seconds, or shows the error.");
    panel.appendChild(section("Mounted disks", intro, box));
    const attachCard = section("Attach a disk", form);
    panel.appendChild(attachCard);

    const notConfigured = (e) => e instanceof ApiError && (e.code === "disks_not_configured" || e.status === 503);
    let stopPoll = null;
    (async () => {
        try {
            await Promise.all([refresh(), loadChoices()]);
        } catch (e) {
            if (notConfigured(e)) {
                replace(box, h("p", { class: "hint", id: "disks-off" }, "Disks are not set up on this server (the operator has not configured them)."));
                attachCard.hidden = true;
                return;
            }
            showError(box, e);
        }
        // mounts change state in the background: keep the list fresh while the tab is open
        if (!stopped) {
            stopPoll = poll(async () => {
                await refresh();
                clearError(box);
            }, POLL_MS, (e) => showError(box, e));
        }
    })();
    return () => {
        stopped = true;
        if (stopPoll) stopPoll();
    };
}
