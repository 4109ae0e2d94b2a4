// sandbox-create.js: the create form (#/sandboxes/new): POST /v1/sandboxes (docs/api.md §3.2.1)
// with a name, a shape (GET /v1/shapes), a catalog image (GET /v1/rootfs) or a ready template
// (GET /v1/templates), the root disk size, networks (GET /v1/networks), egress, public ingress,
// auto-pause, env vars and SSH keys. What the API would refuse for its shape (names, env lines,
// ranges) is refused here before sending; the API's own field errors (object-form fail data,
// ApiError.fields) are shown next to the matching input, anything else next to the submit
// button. The create call answers only once the VM runs, so while it is open the form looks
// for the new row (by its name) and goes to the sandbox's page as soon as it exists; the page
// then follows its status.
import { h, replace } from "../dom.js";
import { api } from "../api.js";
import { button, clearError, field, pageHeader, section, showError } from "../ui.js";

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const utf8 = new TextEncoder();

// "KEY=value" lines -> {envs} or throws an Error naming the bad line. Blank lines and lines
// starting with # are skipped.
export function parseEnvs(text) {
    const envs = {};
    let n = 0;
    let bytes = 0;
    text.split("\n").forEach((raw, i) => {
        const line = raw.replace(/\r$/, "");
        if (!line.trim() || line.trimStart().startsWith("#")) return;
        const eq = line.indexOf("=");
        const key = eq < 0 ? line.trim() : line.slice(0, eq).trim();
        const value = eq < 0 ? "" : line.slice(eq + 1);
        if (eq < 0 || !ENV_KEY_RE.test(key)) throw new Error(`line ${i + 1}: write KEY=value, KEY of letters, digits and _ (not starting with a digit)`);
        if (key in envs) throw new Error(`line ${i + 1}: ${key} is set twice`);
        const vb = utf8.encode(value).length;
        if (vb > 4096) throw new Error(`line ${i + 1}: the value of ${key} is over 4096 bytes`);
        envs[key] = value;
        n++;
        bytes += utf8.encode(key).length + vb;
    });
    if (n > 64) throw new Error(`${n} variables: at most 64`);
    if (bytes > 65536) throw new Error("keys and values together are over 65536 bytes");
    return envs;
}

function lines(text) {
    return text.split("\n").map((l) => l.trim()).filter(Boolean);
}

async function loadChoices() {
    const [shapes, rootfs, templates, networks] = await Promise.all([
        api("GET", "/v1/shapes", { query: { limit: 500 } }),
        api("GET", "/v1/rootfs"),
        api("GET", "/v1/templates", { query: { limit: 500 } }).catch(() => ({ data: [] })),
        api("GET", "/v1/networks", { query: { limit: 500 } }).catch(() => ({ data: [] })),
    ]);
    return {
        shapes: shapes.data,
        rootfs,
        templates: templates.data.filter((t) => t.status === "ready"),
        networks: networks.data,
    };
}

export async function render(main) {
    replace(main, pageHeader("New sandbox"), h("p", { class: "hint" }, "Loading the catalog…"));
    let c;
    try {
        c = await loadChoices();
    } catch (e) {
        replace(main, pageHeader("New sandbox"), h("p", { class: "error", role: "alert" }, e.message),
            h("a", { href: "#/sandboxes" }, "Back to the sandboxes"));
        return;
    }
    let alive = true;

    const name = h("input", { id: "create-name", name: "name", maxlength: "63", autocomplete: "off",
        pattern: NAME_RE.source, placeholder: "generated when empty", spellcheck: "false" });
    const shape = h("select", { id: "create-shape", name: "shape" }, c.shapes.map((s, i) =>
        h("option", { value: s.id, selected: i === 0 },
            `${s.id}: ${s.vcpu} vCPU, ${s.mem_mib} MiB${s.cpu_quota_pct ? `, ${s.cpu_quota_pct} % CPU` : ""}`)));
    const rootfs = h("select", { id: "create-rootfs", name: "rootfs" },
        h("optgroup", { label: "Images" }, c.rootfs.entries.map((e) => h("option", { value: e.name, selected: e.name === c.rootfs.default },
            `${e.name}${e.name === c.rootfs.default ? " (default)" : ""}${e.deprecated ? " (deprecated)" : ""}`))),
        c.templates.length ? h("optgroup", { label: "Templates (ready)" }, c.templates.map((t) =>
            h("option", { value: t.id }, `${t.name} (${t.id})`))) : null);
    const about = h("small", { class: "hint", id: "create-rootfs-about", "aria-live": "polite" });
    const describe = () => {
        const e = c.rootfs.entries.find((x) => x.name === rootfs.value);
        const t = c.templates.find((x) => x.id === rootfs.value);
        replace(about, e ? [e.description || "", e.successor ? ` Use ${e.successor} instead.` : ""]
            : t ? `Your template, built from ${t.base}.` : "");
    };
    rootfs.addEventListener("change", describe);
    describe();
    const disk = h("input", { id: "create-disk", name: "disk_mib", type: "number", min: "1024", step: "1",
        inputmode: "numeric", placeholder: "shape default" });
    const nets = c.networks.map((n) => h("input", { type: "checkbox", value: n.id, name: "networks", id: `create-net-${n.id}` }));
    const netBox = h("fieldset", { class: "checks", id: "create-networks" }, h("legend", null, "Networks"),
        c.networks.length
            ? c.networks.map((n, i) => h("label", { class: "check" }, nets[i], ` ${n.name} `, h("small", { class: "hint" }, `${n.member_count} members`)))
            : h("p", { class: "hint" }, "You have no networks. ", h("a", { href: "#/networks" }, "Create one"), " to connect sandboxes privately."));
    const egressAll = h("input", { type: "radio", name: "egress-mode", value: "all", checked: true, id: "create-egress-all" });
    const egressList = h("input", { type: "radio", name: "egress-mode", value: "list", id: "create-egress-list" });
    const egressRules = h("textarea", { id: "create-egress", name: "egress", rows: "3", spellcheck: "false",
        placeholder: "api.example.com:443\n*.example.org\n203.0.113.0/24", disabled: true });
    const egressBox = h("fieldset", { class: "checks", id: "create-egress-box" }, h("legend", null, "Outbound traffic (egress)"),
        h("label", { class: "check" }, egressAll, " Allow everything"),
        h("label", { class: "check" }, egressList, " Allow only these destinations (everything else is refused):"),
        field("Rules, one per line", egressRules, "host, host:port, *.domain, IPv4 or CIDR, with an optional :port (at most 256)."));
    for (const r of [egressAll, egressList]) r.addEventListener("change", () => { egressRules.disabled = !egressList.checked; });
    const ingress = h("input", { type: "checkbox", id: "create-ingress", name: "ingress_enabled" });
    const autoPause = h("input", { type: "checkbox", id: "create-autopause-on" });
    const autoSecs = h("input", { id: "create-autopause", name: "auto_pause_after_seconds", type: "number", min: "60",
        max: "86400", step: "1", value: "900", disabled: true, inputmode: "numeric" });
    autoPause.addEventListener("change", () => { autoSecs.disabled = !autoPause.checked; });
    const envs = h("textarea", { id: "create-envs", name: "envs", rows: "3", spellcheck: "false", placeholder: "KEY=value" });
    const keys = h("textarea", { id: "create-ssh", name: "ssh_pubkeys", rows: "2", spellcheck: "false",
        placeholder: "ssh-ed25519 AAAA… you@laptop" });

    // where a field's errors go: the API's error key (its first part) -> the control
    const slots = {
        name, shape, rootfs, disk_mib: disk, networks: netBox, egress: egressRules, ingress_enabled: ingress,
        auto_pause_after_seconds: autoSecs, envs, ssh_pubkeys: keys, keys,
    };
    const progress = h("p", { class: "hint", id: "create-progress", "aria-live": "polite" });
    const submit = button("Create sandbox", () => create(), { kind: "primary", type: "submit", id: "create-submit" });
    const cancel = h("a", { class: "btn", href: "#/sandboxes" }, "Cancel");

    function clearAll() {
        for (const el of new Set(Object.values(slots))) clearError(el);
        replace(progress, "");
    }

    function body() {
        let bad = 0;
        const fail = (el, msg) => { showError(el, new Error(msg)); bad++; };
        const b = { shape: shape.value };
        const n = name.value.trim();
        if (n) {
            if (!NAME_RE.test(n)) fail(name, "1–63 letters, digits, _ . or -, starting with a letter or digit");
            else b.name = n;
        }
        if (rootfs.value) b.rootfs = rootfs.value;
        if (disk.value !== "") {
            const v = Number(disk.value);
            if (!Number.isInteger(v) || v < 1024) fail(disk, "a whole number of MiB, at least 1024");
            else b.disk_mib = v;
        }
        const picked = nets.filter((x) => x.checked).map((x) => ({ id: x.value }));
        if (picked.length > 8) fail(netBox, "at most 8 networks");
        else if (picked.length) b.networks = picked;
        if (egressList.checked) {
            const rules = lines(egressRules.value);
            if (!rules.length) fail(egressRules, "write at least one rule, or allow everything");
            else if (rules.length > 256) fail(egressRules, "at most 256 rules");
            else if (rules.some((r) => r.length > 260)) fail(egressRules, "a rule is over 260 characters");
            else b.egress = rules;
        }
        if (ingress.checked) b.ingress_enabled = true;
        if (autoPause.checked) {
            const v = Number(autoSecs.value);
            if (!Number.isInteger(v) || v < 60 || v > 86400) fail(autoSecs, "between 60 and 86400 seconds");
            else b.auto_pause_after_seconds = v;
        }
        try {
            const e = parseEnvs(envs.value);
            if (Object.keys(e).length) b.envs = e;
        } catch (e) {
            fail(envs, e.message);
        }
        const k = lines(keys.value);
        if (k.length > 64) fail(keys, "at most 64 keys");
        else if (k.length) b.ssh_pubkeys = k;
        if (bad) throw new Error("Fix the fields marked above.");
        return b;
    }

    // While the create call is open the row exists as "creating": find it by name and go there.
    async function watchFor(wanted, done) {
        while (!done.v && alive) {
            await new Promise((r) => setTimeout(r, 1000));
            if (done.v || !alive) return;
            try {
                const d = await api("GET", "/v1/sandboxes", { query: { status: "creating", limit: 500 } });
                const hit = d.data.find((sb) => sb.name === wanted);
                if (hit && !done.v && alive) {
                    done.v = true;
                    location.hash = `#/sandboxes/${encodeURIComponent(hit.id)}`;
                    return;
                }
            } catch { /* the create call's own answer tells */ }
        }
    }

    async function create() {
        clearAll();
        const b = body();
        replace(progress, "Creating: the server answers once the VM runs…");
        const done = { v: false };
        if (b.name) watchFor(b.name, done);
        let sb;
        try {
            sb = await api("POST", "/v1/sandboxes", { body: b });
        } catch (e) {
            if (done.v) return; // already on the sandbox's page, which shows how it went
            done.v = true;
            replace(progress, "");
            const f = e.fields || {};
            let placed = 0;
            for (const [k, msg] of Object.entries(f)) {
                if (k === "code" || k === "message" || k === "state") continue;
                const el = slots[k.split(/[.[]/)[0]];
                if (el) {
                    showError(el, new Error(String(msg)));
                    placed++;
                }
            }
            if (placed) {
                const first = Object.keys(f).map((k) => slots[k.split(/[.[]/)[0]]).find(Boolean);
                first?.focus?.();
                throw new Error(f.message ? String(f.message) : "The server refused the fields marked above.");
            }
            throw e;
        }
        if (done.v) return;
        done.v = true;
        if (alive) location.hash = `#/sandboxes/${encodeURIComponent(sb.id)}`;
    }

    const form = h("form", { class: "create-form", id: "create-form", novalidate: true, "aria-label": "New sandbox" },
        section("Basics",
            h("div", { class: "form-grid" },
                field("Name", name, "Letters, digits, _ . -; becomes the hostname."),
                field("Shape", shape),
                h("label", { class: "field" }, h("span", { class: "field-label" }, "Image or template"), rootfs, about),
                field("Root disk (MiB)", disk, "Empty: the shape's default; at least 1024."))),
        section("Network", netBox, egressBox,
            h("label", { class: "check" }, ingress, " Public HTTP ingress (reach guest ports through hearth's ingress proxy)")),
        section("More",
            h("label", { class: "check" }, autoPause, " Pause when idle"),
            field("Idle seconds before the pause", autoSecs, "60–86400. Idle: no API call, exec, shell or ingress request named it."),
            field("Environment variables", envs, "KEY=value, one per line. Their values are never shown again."),
            field("SSH public keys", keys, "One per line; written to /root/.ssh/authorized_keys.")),
        h("div", { class: "actions form-actions" }, submit, cancel), progress);
    form.addEventListener("submit", (e) => e.preventDefault());
    replace(main, pageHeader("New sandbox"), h("p", { class: "crumbs" }, h("a", { href: "#/sandboxes" }, "Sandboxes"), " / new"), form);
    name.focus();
    return () => { alive = false; };
}
