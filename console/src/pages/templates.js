// templates.js: the user's templates (docs/api.md §3.10): the list, kept fresh while a build is
// pending or building, and the "Build a template" form: name, Dockerfile, an optional build
// context (a .tar uploaded to POST /v1/template-contexts first), the start command and ready
// check, no_cache. A 400 is shown next to the field it names (a Dockerfile rule names its line);
// after the submit the template's own page follows its build log.
import { h, replace } from "../dom.js";
import { api } from "../api.js";
import { navigate } from "../router.js";
import { button, field, pageHeader, section, statusBadge, table, fmtBytes, fmtTime, poll,
    showError, clearError } from "../ui.js";
import { fetchPage, pagerBar, stacked, PAGE } from "../pager.js";
import { NAME_RE, NAME_RULE, placeFieldErrors } from "../forms.js";

export const DOCKERFILE_MAX = 65536; // bytes (§3.10.1 rule 1)
// template_context_max_mib's default (docs/operations.md); a larger Content-Length is a 413
const CONTEXT_MAX = 256 * 1024 * 1024;
const BUSY = new Set(["pending", "building"]);

const PLACEHOLDER = [
    "FROM minimal",
    "RUN echo hello > /hello.txt",
    "ENV GREETING=hi",
    "",
].join("\n");

// The ready check kinds of POST /v1/templates (§3.10.3): [value, label, input type, hint].
const READY_KINDS = [
    ["", "none", null, ""],
    ["port", "a TCP port accepts connections", "number", "port, 1–65535"],
    ["file", "a file exists", "text", "absolute path, e.g. /tmp/ready"],
    ["command", "a command exits 0", "text", "run with /bin/sh -c, retried"],
    ["delay_ms", "a fixed delay", "number", "milliseconds, 1–600000"],
];

export function render(main) {
    const listBox = h("div", { "data-testid": "templates-list" }, h("p", { class: "hint" }, "Loading…"));
    const listErr = h("span");
    let offset = 0;
    let stop = null;
    let busy = false;
    let rounds = 0;

    async function refresh() {
        const pg = await fetchPage("/v1/templates", offset, PAGE);
        clearError(listErr);
        busy = pg.items.some((t) => BUSY.has(t.status));
        replace(listBox, templateTable(pg.items), pagerBar(pg, (o) => { offset = o; refresh().catch((e) => showError(listErr, e)); }));
    }
    // every 2 s while a build is pending or building, else every 20 s
    stop = poll(async () => {
        if (!busy && rounds++ % 10 !== 0) return;
        await refresh();
    }, 2000, (e) => showError(listErr, e));

    replace(main,
        pageHeader("Templates"),
        h("p", { class: "hint" }, "A template is a root file system built from a Dockerfile; a sandbox created from it ",
            "starts from its snapshot. Build one below, or with ", h("code", null, "hearth template build"), "."),
        section("Your templates", listErr, listBox),
        buildForm());
    return () => stop && stop();
}

function templateTable(items) {
    return stacked(table([
        { title: "Name", cell: (t) => h("a", { href: `#/templates/${encodeURIComponent(t.id)}`, "data-testid": "template-link" }, t.name) },
        { title: "Status", cell: (t) => statusBadge(t.status) },
        { title: "Base", cell: (t) => h("code", null, t.base) },
        { title: "Size", cell: (t) => (t.ext4_size_bytes ? fmtBytes(t.ext4_size_bytes) : "–") },
        { title: "Created", cell: (t) => fmtTime(t.created_at) },
        { title: "ID", cell: (t) => h("code", null, t.id) },
    ], items, { empty: "No templates yet.", rowKey: (t) => t.id, label: "Templates" }));
}

function buildForm() {
    const name = h("input", { id: "tpl-name", name: "name", required: true, autocomplete: "off",
        spellcheck: "false", maxlength: 63, placeholder: "my-template" });
    const dockerfile = h("textarea", { id: "tpl-dockerfile", name: "dockerfile", rows: 10,
        required: true, spellcheck: "false", placeholder: PLACEHOLDER });
    const context = h("input", { id: "tpl-context", name: "context", type: "file",
        accept: ".tar,application/x-tar" });
    const start = h("input", { id: "tpl-start", name: "start_cmd", autocomplete: "off",
        spellcheck: "false", maxlength: 4096, placeholder: "busybox httpd -p 8080 -h /srv" });
    const readyKind = h("select", { id: "tpl-ready-kind", name: "ready_kind" },
        READY_KINDS.map(([v, label]) => h("option", { value: v }, label)));
    const readyValue = h("input", { id: "tpl-ready-value", name: "ready_value", autocomplete: "off",
        spellcheck: "false", disabled: true });
    const readyTimeout = h("input", { id: "tpl-ready-timeout", name: "ready_timeout", type: "number",
        min: 1, max: 600, placeholder: "60", disabled: true });
    const readyHint = h("small", { class: "hint" }, "");
    const noCache = h("input", { id: "tpl-nocache", name: "no_cache", type: "checkbox" });

    readyKind.addEventListener("change", () => {
        const kind = READY_KINDS.find(([v]) => v === readyKind.value);
        readyValue.disabled = !kind[0];
        readyTimeout.disabled = !kind[0];
        readyValue.type = kind[2] || "text";
        replace(readyHint, kind[3]);
        if (kind[0]) readyValue.focus();
    });

    const controls = { name, dockerfile, context, start_cmd: start, ready: readyKind, base: dockerfile,
        no_cache: noCache };
    const submit = button("Build", () => submitBuild(), { kind: "primary", id: "tpl-submit", type: "submit" });

    async function submitBuild() {
        for (const c of Object.values(controls)) clearError(c);
        clearError(readyValue);
        const body = readForm();
        if (!body) return;
        const file = context.files && context.files[0];
        if (file) {
            const up = await api("POST", "/v1/template-contexts", { body: file }).catch((e) => {
                showError(context, e);
                return null;
            });
            if (!up) return;
            body.context = up.id;
        }
        let tpl;
        try {
            tpl = await api("POST", "/v1/templates", { body });
        } catch (e) {
            if (!placeFieldErrors(e, controls)) throw e;
            return;
        }
        navigate(`/templates/${encodeURIComponent(tpl.id)}`);
    }

    // The request body, or null after showing what is wrong next to its field.
    function readForm() {
        const body = { name: name.value.trim(), dockerfile: dockerfile.value };
        let ok = true;
        const bad = (control, msg) => { showError(control, new Error(msg)); ok = false; };
        if (!NAME_RE.test(body.name)) bad(name, NAME_RULE);
        if (!body.dockerfile.trim()) bad(dockerfile, "A Dockerfile is required (e.g. FROM minimal, then RUN lines).");
        else if (new TextEncoder().encode(body.dockerfile).length > DOCKERFILE_MAX) bad(dockerfile, "A Dockerfile is at most 64 KiB.");
        const file = context.files && context.files[0];
        if (file && file.size > CONTEXT_MAX) bad(context, `This archive is ${fmtBytes(file.size)}; a build context is at most ${fmtBytes(CONTEXT_MAX)}.`);
        if (start.value.trim()) body.start_cmd = start.value;
        if (readyKind.value) {
            const kind = readyKind.value;
            const v = readyValue.value.trim();
            const ready = {};
            if (kind === "port" || kind === "delay_ms") {
                const n = Number(v);
                const max = kind === "port" ? 65535 : 600000;
                if (!/^[0-9]+$/.test(v) || n < 1 || n > max) bad(readyValue, `A whole number from 1 to ${max}.`);
                ready[kind] = n;
            } else if (kind === "file") {
                if (!v.startsWith("/")) bad(readyValue, "An absolute path (starting with /).");
                ready.file = v;
            } else {
                if (!v) bad(readyValue, "The command to run.");
                ready.command = v;
            }
            const t = readyTimeout.value.trim();
            if (t) {
                const n = Number(t);
                if (!/^[0-9]+$/.test(t) || n < 1 || n > 600) bad(readyTimeout, "Seconds, 1–600.");
                ready.timeout_seconds = n;
            }
            body.ready = ready;
        }
        if (noCache.checked) body.no_cache = true;
        return ok ? body : null;
    }

    const form = h("form", { class: "build-form", id: "tpl-form", "aria-labelledby": "tpl-form-title", novalidate: true },
        field("Name", name, "Lower-case letters, digits and '-'; unique among your templates."),
        field("Dockerfile", dockerfile,
            "One FROM (devbox:1, node, debian-12, minimal, or one of your ready templates), then RUN, ENV, WORKDIR, COPY… (docs/templates.md)."),
        field("Build context (optional)", context, "A .tar of the files COPY and ADD read; at most 256 MiB."),
        h("div", { class: "form-grid" },
            field("Start command (optional)", start, "Runs before the snapshot: a service already up in every sandbox."),
            h("div", { class: "field ready-field" },
                h("label", { for: "tpl-ready-kind", class: "field-label" }, "Ready check"),
                readyKind,
                h("label", { for: "tpl-ready-value", class: "field-label sub" }, "Value"),
                readyValue, readyHint,
                h("label", { for: "tpl-ready-timeout", class: "field-label sub" }, "Timeout (s)"),
                readyTimeout)),
        h("label", { class: "check" }, noCache, " Reuse no cached layer (no_cache)"),
        h("div", { class: "actions" }, submit));
    form.addEventListener("submit", (ev) => ev.preventDefault());
    return h("section", { class: "card" }, h("h2", { id: "tpl-form-title" }, "Build a template"), form);
}
