// disks.js: S3 disks (docs/api.md §3.9): the list, register one (name, bucket, endpoint,
// region, path style, credentials: the server checks the bucket before storing), rotate the
// credentials (PATCH: the only change a disk takes), delete (409 while a sandbox mounts it), and
// which sandboxes mount each (their GET /v1/sandboxes/{id}/disks). Credentials are write-only:
// no reply carries them, and the console clears its fields once they are sent.
import { h, replace } from "../dom.js";
import { api } from "../api.js";
import { button, confirmDialog, field, pageHeader, section, table, fmtTime, showError, clearError,
    statusBadge } from "../ui.js";
import { fetchAll, fetchPage, pagerBar, stacked, PAGE } from "../pager.js";
import { NAME_RE, NAME_RULE, placeFieldErrors } from "../forms.js";

const GONE = new Set(["destroying", "destroyed", "failed"]);
const MOUNT_SCAN_MAX = 64; // sandboxes whose mounts are read for the "Mounted in" column
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function render(main) {
    const listBox = h("div", { "data-testid": "disks-list" }, h("p", { class: "hint" }, "Loading…"));
    const listErr = h("span");
    const note = h("p", { class: "hint", id: "disk-note", "aria-live": "polite" });
    const formBox = h("div");
    let offset = 0;
    let mounts = new Map(); // disk id -> [{sb, m}]
    let scanNote = "";

    async function refresh() {
        let pg;
        try {
            pg = await fetchPage("/v1/disks", offset, PAGE);
        } catch (e) {
            if (e.code === "disks_not_configured") {
                replace(formBox);
                replace(listBox, h("p", { class: "flash", "data-testid": "disks-off" },
                    "S3 disks are not set up on this server: the operator has not configured the key that ",
                    "encrypts their credentials (docs/disks.md)."));
                return;
            }
            showError(listErr, e);
            return;
        }
        clearError(listErr);
        if (!formBox.firstChild) replace(formBox, createSection(refresh));
        if (pg.items.length) await scanMounts();
        replace(listBox, diskTable(pg.items), pagerBar(pg, (o) => { offset = o; refresh(); }),
            scanNote ? h("p", { class: "hint" }, scanNote) : null);
    }

    // The mounts of the caller's live sandboxes (4 at a time), by disk id.
    async function scanMounts() {
        const all = (await fetchAll("/v1/sandboxes").catch(() => [])).filter((s) => !GONE.has(s.status));
        const sbs = all.slice(0, MOUNT_SCAN_MAX);
        scanNote = all.length > sbs.length ? `"Mounted in" looks at your ${sbs.length} newest live sandboxes only.` : "";
        const map = new Map();
        let next = 0;
        const worker = async () => {
            while (next < sbs.length) {
                const sb = sbs[next++];
                const ms = await fetchAll(`/v1/sandboxes/${encodeURIComponent(sb.id)}/disks`).catch(() => []);
                for (const m of ms) {
                    if (!map.has(m.disk_id)) map.set(m.disk_id, []);
                    map.get(m.disk_id).push({ sb, m });
                }
            }
        };
        await Promise.all([worker(), worker(), worker(), worker()]);
        mounts = map;
    }

    function mountedIn(d) {
        const list = mounts.get(d.id) || [];
        if (!list.length) return h("span", { class: "hint" }, "none");
        return h("ul", { class: "plain" }, list.map(({ sb, m }) => h("li", null,
            h("a", { href: `#/sandboxes/${encodeURIComponent(sb.id)}/disks` }, sb.name || sb.id), " at ",
            h("code", null, m.mount_path), m.sub_path ? [" (", h("code", null, m.sub_path), ")"] : null, " ",
            statusBadge(m.mount_status))));
    }

    function diskTable(items) {
        return stacked(table([
            { title: "Name", cell: (d) => h("div", null, h("span", { class: "name" }, d.name), h("br"),
                h("code", { class: "sub-id" }, d.id)) },
            { title: "Bucket", cell: (d) => h("code", null, d.config?.bucket ?? "") },
            { title: "Endpoint", cell: (d) => h("div", null, h("code", null, d.config?.endpoint ?? ""), h("br"),
                h("small", { class: "hint" }, `${d.config?.region || "us-east-1 (default)"} · `,
                    d.config?.use_path_style ? "path style" : "virtual host")) },
            { title: "Mounted in", cell: mountedIn },
            { title: "Created", cell: (d) => fmtTime(d.created_at) },
            { title: "", class: "row-actions", cell: (d) => h("div", { class: "actions" },
                button("Rotate credentials", () => rotateDialog(d, (msg) => replace(note, msg)),
                    { testid: "disk-rotate", label: `Rotate the credentials of ${d.name}` }),
                button("Delete", async () => {
                    const sure = await confirmDialog(`Delete the disk "${d.name}"? The bucket and its objects stay untouched.`,
                        { confirm: "Delete", danger: true });
                    if (!sure) return;
                    await api("DELETE", `/v1/disks/${encodeURIComponent(d.id)}`);
                    replace(note, `Deleted the disk ${d.name}.`);
                    await refresh();
                }, { kind: "danger", testid: "disk-delete", label: `Delete ${d.name}` })) },
        ], items, { empty: "No disks yet.", rowKey: (d) => d.id, label: "Disks" }));
    }

    replace(main,
        pageHeader("Disks"),
        h("p", { class: "hint" }, "A disk is an S3-compatible bucket (AWS S3, R2, MinIO, …) that sandboxes mount as a ",
            "directory. Mount one at create or from a sandbox's Disks tab."),
        formBox,
        section("Your disks", listErr, note, listBox));
    return refresh();
}

function createSection(refresh) {
    const input = (id, props = {}) => h("input", { id, autocomplete: "off", spellcheck: "false", ...props });
    const name = input("disk-name", { maxlength: 63, placeholder: "data", required: true });
    const bucket = input("disk-bucket", { maxlength: 63, placeholder: "my-bucket", required: true });
    const endpoint = input("disk-endpoint", { type: "url", maxlength: 511, placeholder: "https://s3.eu-west-1.amazonaws.com", required: true });
    const region = input("disk-region", { maxlength: 63, placeholder: "us-east-1" });
    const pathStyle = h("input", { id: "disk-path-style", type: "checkbox" });
    const access = input("disk-access-key", { type: "password", autocomplete: "new-password", maxlength: 256, required: true });
    const secret = input("disk-secret-key", { type: "password", autocomplete: "new-password", maxlength: 256, required: true });
    const controls = {
        name, "config.bucket": bucket, "config.endpoint": endpoint, config: endpoint, "config.region": region,
        "config.use_path_style": pathStyle, "credentials.access_key": access, "credentials.secret_key": secret,
        credentials: secret,
    };
    const create = button("Add the disk", async () => {
        for (const c of new Set(Object.values(controls))) clearError(c);
        let ok = true;
        const bad = (c, msg) => { showError(c, new Error(msg)); ok = false; };
        const body = {
            name: name.value.trim(), kind: "s3",
            config: { bucket: bucket.value.trim(), endpoint: endpoint.value.trim(), use_path_style: pathStyle.checked },
            credentials: { access_key: access.value, secret_key: secret.value },
        };
        if (region.value.trim()) body.config.region = region.value.trim();
        if (!NAME_RE.test(body.name)) bad(name, NAME_RULE);
        if (!BUCKET_RE.test(body.config.bucket)) bad(bucket, "3–63 characters of a–z, 0–9, '.' and '-', starting and ending with a letter or digit.");
        if (!/^https?:\/\/[^/?#\s]+/.test(body.config.endpoint)) bad(endpoint, "An http:// or https:// URL, e.g. https://s3.amazonaws.com.");
        if (!access.value) bad(access, "Required.");
        if (!secret.value) bad(secret, "Required.");
        if (!ok) return;
        try {
            await api("POST", "/v1/disks", { body });
        } catch (e) {
            if (!placeFieldErrors(e, controls)) throw e;
            return;
        } finally {
            body.credentials = null;
        }
        for (const c of [name, bucket, endpoint, region, access, secret]) c.value = "";
        pathStyle.checked = false;
        await refresh();
    }, { kind: "primary", id: "disk-create", type: "submit" });
    const form = h("form", { id: "disk-form", novalidate: true, on: { submit: (e) => e.preventDefault() } },
        h("div", { class: "form-grid" },
            field("Name", name, "Lower-case letters, digits and '-'."),
            field("Bucket", bucket),
            field("Endpoint", endpoint, "The S3 service's URL (no bucket in it)."),
            field("Region (optional)", region, "Signing region; us-east-1 when empty.")),
        h("label", { class: "check" }, pathStyle, " Path-style addressing (MinIO and the like; needed when the endpoint is an IP address)"),
        h("fieldset", { class: "secrets" }, h("legend", null, "Credentials (write-only: never shown again)"),
            h("div", { class: "form-grid" }, field("Access key", access), field("Secret key", secret))),
        h("p", { class: "hint" }, "The server checks the bucket with these credentials before storing anything."),
        h("div", { class: "actions" }, create));
    return section("Add a disk", form);
}

// A dialog asking for a new key pair (PATCH /v1/disks/{ref}: the bucket is checked with it; on
// a failure the old pair stays).
function rotateDialog(d, done) {
    return new Promise((resolve) => {
        const access = h("input", { id: "rotate-access-key", type: "password", autocomplete: "new-password", maxlength: 256 });
        const secret = h("input", { id: "rotate-secret-key", type: "password", autocomplete: "new-password", maxlength: 256 });
        const close = () => {
            access.value = "";
            secret.value = "";
            dlg.close();
            dlg.remove();
            resolve();
        };
        const save = button("Rotate", async () => {
            clearError(access);
            clearError(secret);
            if (!access.value || !secret.value) {
                showError(access.value ? secret : access, new Error("Both keys are required."));
                return;
            }
            try {
                await api("PATCH", `/v1/disks/${encodeURIComponent(d.id)}`,
                    { body: { credentials: { access_key: access.value, secret_key: secret.value } } });
            } catch (e) {
                if (!placeFieldErrors(e, { "credentials.access_key": access, "credentials.secret_key": secret })) throw e;
                return;
            }
            done(`Rotated the credentials of ${d.name}; mounts use them once mounted again (resume, attach).`);
            close();
        }, { kind: "primary", id: "rotate-save", type: "submit" });
        const cancel = h("button", { type: "button", class: "btn", on: { click: close } }, "Cancel");
        const dlg = h("dialog", { class: "rotate", "aria-labelledby": "rotate-title" },
            h("form", { novalidate: true, on: { submit: (e) => e.preventDefault() } },
                h("h2", { id: "rotate-title" }, `New credentials for ${d.name}`),
                field("Access key", access), field("Secret key", secret),
                h("div", { class: "actions" }, cancel, save)));
        dlg.addEventListener("cancel", (e) => { e.preventDefault(); close(); });
        document.body.appendChild(dlg);
        dlg.showModal();
        access.focus();
    });
}
