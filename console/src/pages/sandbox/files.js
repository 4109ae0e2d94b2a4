// files.js: the sandbox's file browser. A directory is listed by running a fixed script
// through exec (docs/api.md §3.4) with the directory as its argument (never a command line
// built from names): GNU find (busybox: a shell loop) prints type, size, time and name of each
// entry NUL-separated, and base64 carries those bytes through exec's JSON, which would turn
// bytes that are not UTF-8 into U+FFFD (§1.8). A name that is not UTF-8 is shown with U+FFFD and
// cannot be acted on (the API takes paths as UTF-8 strings). Download: GET files?path= (§3.5.2)
// into a blob; upload: PUT files?path= (§3.5.1), from the file input or dropped files, each
// checked against the API's limit before anything is sent; new folder and delete: mkdir -p and
// rm -rf through exec with the path as one argument.
import { h, replace } from "../../dom.js";
import { api, apiUpload } from "../../api.js";
import { button, showError, clearError, confirmDialog, table, fmtBytes, fmtTime, field } from "../../ui.js";

// The API's upload limit (§3.5.1: 2 GiB per request); bigger files are refused here, before
// any byte is sent.
export const MAX_UPLOAD_BYTES = 2 * 1024 * 1024 * 1024;

// $1: the directory. Output: base64 of records "TYPE\tTARGET-TYPE\tSIZE\tMTIME\tNAME\0".
const LIST_SCRIPT = `cd -- "$1" || exit 2
if find . -maxdepth 0 -printf '' 2>/dev/null; then
  find . -mindepth 1 -maxdepth 1 -printf '%y\\t%Y\\t%s\\t%T@\\t%f\\0'
else
  for f in .* *; do
    case $f in .|..) continue;; esac
    [ -e "$f" ] || [ -L "$f" ] || continue
    if [ -L "$f" ]; then t=l; elif [ -d "$f" ]; then t=d; elif [ -f "$f" ]; then t=f; else t=o; fi
    if [ -d "$f" ]; then y=d; elif [ -f "$f" ]; then y=f; else y=o; fi
    printf '%s\\t%s\\t%s\\t%s\\t%s\\0' "$t" "$y" "$(stat -c %s -- "$f")" "$(stat -c %Y -- "$f")" "$f"
  done
fi | base64`;

const TYPES = { f: "file", d: "directory", l: "link", p: "fifo", s: "socket", c: "char device", b: "block device" };
const utf8 = new TextDecoder("utf-8", { fatal: true });
const lossy = new TextDecoder("utf-8");

// A table that folds into cards on a phone (style.css: table.stack).
function stacked(wrap) {
    wrap.querySelector("table").classList.add("stack");
    return wrap;
}

function join(dir, name) {
    return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

function parent(dir) {
    const i = dir.replace(/\/+$/, "").lastIndexOf("/");
    return i <= 0 ? "/" : dir.slice(0, i);
}

// A path as typed: absolute, no trailing slash, no empty or "." parts.
function normalise(p) {
    const parts = [];
    for (const part of String(p).split("/")) {
        if (part === "" || part === ".") continue;
        if (part === "..") parts.pop();
        else parts.push(part);
    }
    return `/${parts.join("/")}`;
}

function b64bytes(s) {
    const bin = atob(s.replace(/\s+/g, ""));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
}

// The entries of the list script's output: [{name, ok (name is UTF-8), type, target, size, mtime}].
export function parseListing(bytes) {
    const entries = [];
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
        if (i < bytes.length && bytes[i] !== 0) continue;
        const rec = bytes.subarray(start, i);
        start = i + 1;
        if (!rec.length) continue;
        const fields = [];
        let at = 0;
        for (let k = 0; k < 4; k++) {
            const tab = rec.indexOf(9, at);
            if (tab < 0) break;
            fields.push(lossy.decode(rec.subarray(at, tab)));
            at = tab + 1;
        }
        if (fields.length < 4) continue;
        const raw = rec.subarray(at);
        let name;
        let ok = true;
        try {
            name = utf8.decode(raw);
        } catch {
            name = lossy.decode(raw);
            ok = false;
        }
        entries.push({ name, ok, type: fields[0], target: fields[1], size: Number(fields[2]), mtime: Number(fields[3]) });
    }
    const dir = (e) => (e.type === "d" || (e.type === "l" && e.target === "d") ? 0 : 1);
    entries.sort((a, b) => dir(a) - dir(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return entries;
}

export function render(panel, ctx) {
    const base = `/v1/sandboxes/${encodeURIComponent(ctx.id)}`;
    let cwd = "/root";
    let gen = 0;
    let running = null;

    const exec = async (cmd, args) => {
        const d = await api("POST", `${base}/exec`, { body: { cmd, args, timeout_ms: 120000 } });
        const r = d.result;
        if (r.error) throw new Error(r.error);
        if (r.exit_code !== 0) throw new Error((r.stderr || "").trim() || `${cmd} exited with status ${r.exit_code}`);
        return r;
    };

    const pathInput = h("input", { id: "files-path", type: "text", value: cwd, spellcheck: "false", autocomplete: "off" });
    const go = button("Go", async () => open(pathInput.value), { id: "files-go", type: "submit" });
    const up = button("Up", async () => open(parent(cwd)), { id: "files-up" });
    const reload = button("Refresh", async () => open(cwd), { id: "files-refresh" });
    const pathForm = h("form", { class: "files-pathbar", on: { submit: (e) => { e.preventDefault(); go.click(); } } },
        field("Path", pathInput), h("div", { class: "actions" }, go, up, reload));

    const listing = h("div", { class: "files-list", "data-testid": "files-list" });
    const note = h("p", { class: "hint", "data-testid": "files-note" });

    const entryRow = (e) => {
        const path = join(cwd, e.name);
        const isDir = e.type === "d" || (e.type === "l" && e.target === "d");
        const label = h("span", { class: "files-name" }, e.name);
        const name = isDir && e.ok
            ? h("button", { type: "button", class: "btn-link", "data-testid": "files-open",
                            on: { click: () => open(path).catch((err) => showError(listing, err)) } }, label, "/")
            : label;
        const acts = [];
        if (!e.ok) {
            acts.push(h("span", { class: "hint" }, "name is not UTF-8: not reachable from here"));
        } else {
            if (e.type === "f" || (e.type === "l" && e.target === "f")) {
                acts.push(button("Download", () => download(path, e.name), { class: "btn-small", testid: "files-download" }));
            }
            acts.push(button("Delete", async () => {
                const yes = await confirmDialog(`Delete ${path}${isDir ? " and everything in it" : ""}?`, { confirm: "Delete", danger: true });
                if (!yes) return;
                await exec("rm", ["-rf", "--", path]);
                await open(cwd);
            }, { class: "btn-small", kind: "danger", testid: "files-delete" }));
        }
        return { name, type: TYPES[e.type] || e.type, size: isDir ? "" : fmtBytes(e.size),
                 mtime: e.mtime ? fmtTime(new Date(e.mtime * 1000).toISOString()) : "", acts, key: e.name };
    };

    // Lists dir and shows it; throws (the caller shows where) when it cannot.
    const open = async (dir) => {
        const target = normalise(dir);
        const mine = ++gen;
        const r = await api("POST", `${base}/exec`, {
            body: { cmd: "sh", args: ["-c", LIST_SCRIPT, "sh", target], timeout_ms: 120000 },
        });
        if (mine !== gen) return;
        const res = r.result;
        if (res.error) throw new Error(res.error);
        if (res.exit_code === 2) throw new Error((res.stderr || "").trim() || `cannot open ${target}`);
        const entries = parseListing(b64bytes(res.stdout || ""));
        cwd = target;
        pathInput.value = cwd;
        clearError(listing);
        replace(note, res.stderr ? `Some entries could not be read: ${res.stderr.trim()}` : "");
        const rows = entries.map(entryRow);
        replace(listing, stacked(table([
            { title: "Name", cell: (r2) => r2.name, class: "files-col-name" },
            { title: "Type", cell: (r2) => r2.type },
            { title: "Size", cell: (r2) => r2.size, class: "num" },
            { title: "Modified", cell: (r2) => r2.mtime },
            { title: "", cell: (r2) => h("div", { class: "actions" }, r2.acts) },
        ], rows, { empty: "This directory is empty.", label: `Files in ${cwd}`, rowKey: (r2) => r2.key })));
    };

    const download = async (path, name) => {
        const r = await api("GET", `${base}/files`, { query: { path }, raw: true });
        const blob = await r.blob();
        const href = URL.createObjectURL(blob);
        const a = h("a", { href, download: name, hidden: true });
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(href), 30_000);
    };

    // upload: the file input and the drop zone share one control for messages
    const fileInput = h("input", { id: "files-upload", type: "file", multiple: true, "data-testid": "files-upload" });
    const progress = h("progress", { class: "files-progress", max: 1, value: 0, hidden: true, "data-testid": "files-progress" });
    const uploadStatus = h("span", { class: "hint", role: "status", "data-testid": "files-upload-status" });
    const upload = async (files) => {
        clearError(fileInput);
        replace(uploadStatus, "");
        const list = Array.from(files || []);
        if (!list.length) return;
        for (const f of list) {
            if (f.size > MAX_UPLOAD_BYTES) {
                throw new Error(`${f.name} is ${fmtBytes(f.size)}: the largest upload is ${fmtBytes(MAX_UPLOAD_BYTES)}. Nothing was sent.`);
            }
            if (!f.name || f.name === "." || f.name === ".." || /[/\0]/.test(f.name)) {
                throw new Error(`Cannot upload a file named "${f.name}". Nothing was sent.`);
            }
        }
        const dir = cwd;
        const total = list.reduce((n, f) => n + f.size, 0) || 1;
        let done = 0;
        progress.hidden = false;
        progress.value = 0;
        try {
            for (const f of list) {
                replace(uploadStatus, `Uploading ${f.name}…`);
                await apiUpload("PUT", `${base}/files`, f, {
                    query: { path: join(dir, f.name) },
                    onProgress: (sent) => { progress.value = (done + sent) / total; },
                });
                done += f.size;
            }
            replace(uploadStatus, list.length === 1 ? `Uploaded ${list[0].name}.` : `Uploaded ${list.length} files.`);
        } finally {
            progress.hidden = true;
            if (dir === cwd) await open(cwd).catch((e) => showError(listing, e));
        }
    };
    const runUpload = (files) => upload(files).catch((e) => {
        replace(uploadStatus, "");
        showError(fileInput, e);
    }).finally(() => { fileInput.value = ""; });
    fileInput.addEventListener("change", () => runUpload(fileInput.files));

    const drop = h("div", { class: "files-drop", "data-testid": "files-drop" },
        h("p", { class: "hint" }, "Drop files here to upload them into this directory."));
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
        e.preventDefault();
        drop.classList.remove("over");
        runUpload(e.dataTransfer?.files);
    });

    const folderName = h("input", { id: "files-newdir", type: "text", autocomplete: "off", spellcheck: "false" });
    const mkdir = button("Create folder", async () => {
        const name = folderName.value;
        if (!name.trim() || name.includes("\0")) throw new Error("Give the folder a name.");
        await exec("mkdir", ["-p", "--", name.startsWith("/") ? normalise(name) : normalise(join(cwd, name))]);
        folderName.value = "";
        await open(cwd);
    }, { id: "files-mkdir", type: "submit" });
    const mkdirForm = h("form", { class: "files-mkdir", on: { submit: (e) => { e.preventDefault(); mkdir.click(); } } },
        field("New folder", folderName), mkdir);

    const tools = h("div", { class: "files-tools" },
        h("div", { class: "files-upload" }, field("Upload files", fileInput, `At most ${fmtBytes(MAX_UPLOAD_BYTES)} each.`),
            progress, uploadStatus),
        mkdirForm);
    const notRunning = h("p", { class: "hint", "data-testid": "files-not-running", hidden: true });
    const body = h("div", { class: "files" }, pathForm, tools, drop, note, listing);
    replace(panel, notRunning, body);

    const apply = (sb) => {
        const now = sb.status === "running";
        if (now && running !== true) {
            open(cwd).catch(async (e) => {
                // /root may not exist in every image: fall back to /
                if (cwd !== "/") await open("/").catch((e2) => showError(listing, e2));
                else showError(listing, e);
            });
        }
        notRunning.hidden = now;
        body.hidden = !now;
        if (!now) replace(notRunning, `The files need a running sandbox; this one is ${sb.status}.`);
        running = now;
    };
    const unsubscribe = ctx.onChange(apply);
    apply(ctx.sb);
    return () => {
        gen++;
        unsubscribe();
    };
}
