// processes.js: the sandbox's managed processes (docs/api.md §3.11): the list (polled every
// 2.5 s), a form to start one (command, arguments one a line, pipes or a terminal, working
// directory, environment), and the selected process: its output live from …/connect (NDJSON
// events, data as base64, shown as text with terminal escape sequences stripped), input,
// close stdin, signals, and its exit.
import { h, replace, append } from "../../dom.js";
import { api, apiLines } from "../../api.js";
import { button, showError, clearError, table, fmtTime, field, poll } from "../../ui.js";

// Output kept on screen per process (older text is dropped from the view, not from the ring).
const MAX_SHOWN = 512 * 1024;

// CSI, OSC and two-byte escape sequences, and the other C0 controls but tab, newline and CR.
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]/g;

function b64bytes(s) {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
}

function b64(bytes) {
    let bin = "";
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(bin);
}

// How a shell would spell argv, for reading (not for running): words with anything but
// letters, digits and -_./=:,+@% in single quotes.
function shellWords(argv) {
    return argv.map((a) => (a !== "" && /^[A-Za-z0-9_./=:,+@%-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(" ");
}

function exitText(p) {
    if (p.exit_code === undefined) return "";
    return p.signal ? `${p.exit_code} (${p.signal})` : String(p.exit_code);
}

// "A=1\nB=2" -> {A: "1", B: "2"}; throws on a line without "=".
function parseEnv(text) {
    const env = {};
    for (const line of text.split("\n")) {
        if (!line.trim()) continue;
        const i = line.indexOf("=");
        if (i <= 0) throw new Error(`Environment: "${line}" is not NAME=value.`);
        env[line.slice(0, i).trim()] = line.slice(i + 1);
    }
    return env;
}

export function render(panel, ctx) {
    const base = `/v1/sandboxes/${encodeURIComponent(ctx.id)}/processes`;
    let selected = null; // process_id
    let follow = null; // AbortController of the output stream
    let procs = [];

    // --- start form ---
    const cmd = h("input", { id: "proc-cmd", type: "text", autocomplete: "off", spellcheck: "false", placeholder: "sh" });
    const args = h("textarea", { id: "proc-args", rows: 3, spellcheck: "false", placeholder: "-c\necho hello" });
    const cwd = h("input", { id: "proc-cwd", type: "text", autocomplete: "off", spellcheck: "false", placeholder: "/root" });
    const env = h("textarea", { id: "proc-env", rows: 2, spellcheck: "false", placeholder: "NAME=value" });
    const pty = h("input", { id: "proc-pty", type: "checkbox" });
    const start = button("Start", async () => {
        const body = {};
        if (cmd.value.trim()) body.cmd = cmd.value.trim();
        const a = args.value.split("\n");
        while (a.length && a[a.length - 1] === "") a.pop();
        if (a.length) body.args = a;
        if (cwd.value.trim()) body.cwd = cwd.value.trim();
        const e = parseEnv(env.value);
        if (Object.keys(e).length) body.env = e;
        if (pty.checked) body.pty = { rows: 24, cols: 100 };
        if (!body.cmd && !body.pty) throw new Error("Give a command (or tick Terminal for a shell).");
        const p = await api("POST", base, { body });
        await refresh();
        select(p.process_id);
    }, { id: "proc-start", kind: "primary", type: "submit" });
    const form = h("form", { class: "proc-form card", "aria-label": "Start a process",
                             on: { submit: (ev) => { ev.preventDefault(); start.click(); } } },
        h("h2", null, "Start a process"),
        h("div", { class: "form-grid" },
            field("Command", cmd, "A program (no shell: use sh -c for one)."),
            field("Arguments", args, "One per line."),
            field("Working directory", cwd, "Absolute; default /root."),
            field("Environment", env, "NAME=value, one per line.")),
        h("label", { class: "check" }, pty, " Terminal (pty): a shell when no command is given"),
        h("div", { class: "actions" }, start));

    // --- the list ---
    const list = h("div", { "data-testid": "proc-list" });
    const drawList = () => {
        const t = table([
            { title: "Process", cell: (p) => h("button", {
                type: "button", class: "btn-link", "data-testid": "proc-select",
                "aria-pressed": p.process_id === selected ? "true" : "false",
                on: { click: () => select(p.process_id) },
            }, p.process_id) },
            { title: "Command", cell: (p) => h("code", null, shellWords([p.cmd, ...(p.args || [])])) },
            { title: "Kind", cell: (p) => p.kind, class: "nowrap" },
            { title: "State", cell: (p) => h("span", { "data-testid": "proc-state" }, p.state), class: "nowrap" },
            { title: "Exit", cell: (p) => exitText(p), class: "nowrap" },
            { title: "Started", cell: (p) => fmtTime(p.created_at) },
        ], procs, { empty: "No managed processes yet.", label: "Managed processes", rowKey: (p) => p.process_id });
        t.querySelector("table").classList.add("stack");
        replace(list, t);
    };
    const refresh = async () => {
        const d = await api("GET", base);
        procs = d.processes || [];
        clearError(list);
        drawList();
        if (selected) drawDetail(procs.find((p) => p.process_id === selected));
    };

    // --- the selected process ---
    const detail = h("section", { class: "card proc-detail", hidden: true, "aria-label": "Selected process" });
    const title = h("h2", null);
    const info = h("p", { class: "hint", "data-testid": "proc-info" });
    const out = h("pre", { class: "proc-out", "data-testid": "proc-output", tabindex: "0", "aria-label": "Output" });
    const streamNote = h("p", { class: "hint", role: "status", "data-testid": "proc-stream" });
    const input = h("input", { id: "proc-input", type: "text", autocomplete: "off", spellcheck: "false" });
    const newline = h("input", { id: "proc-newline", type: "checkbox", checked: true });
    const send = button("Send", async () => {
        const data = new TextEncoder().encode(input.value + (newline.checked ? "\n" : ""));
        await api("POST", `${base}/${encodeURIComponent(selected)}/input`, { body: { data_base64: b64(data) } });
        input.value = "";
    }, { id: "proc-send", type: "submit" });
    const inputForm = h("form", { class: "proc-input", on: { submit: (ev) => { ev.preventDefault(); send.click(); } } },
        field("Input", input), h("label", { class: "check" }, newline, " add a newline"), send);
    const signal = (name, kind) => button(name.replace("SIG", ""), async () => {
        await api("POST", `${base}/${encodeURIComponent(selected)}/signal`, { body: { signal: name } });
        await refresh();
    }, { testid: `proc-${name.toLowerCase()}`, kind, title: `Send ${name}` });
    const closeStdin = button("Close stdin", async () => {
        await api("POST", `${base}/${encodeURIComponent(selected)}/stdin/close`);
    }, { testid: "proc-close-stdin" });
    const remove = button("Remove", async () => {
        await api("DELETE", `${base}/${encodeURIComponent(selected)}`);
        selected = null;
        stopFollow();
        detail.hidden = true;
        await refresh();
    }, { testid: "proc-remove", title: "Stop it (TERM, then KILL) and forget its record" });
    const controls = h("div", { class: "actions" }, signal("SIGINT"), signal("SIGTERM"), signal("SIGKILL", "danger"), closeStdin, remove);
    append(detail, [title, info, controls, out, streamNote, inputForm]);

    const drawDetail = (p) => {
        if (!p) return;
        replace(title, "Process ", h("code", null, p.process_id));
        const bits = [`${p.kind}, pid ${p.pid}, ${p.state}`];
        if (p.exit_code !== undefined) bits.push(`exit code ${exitText(p)}`);
        bits.push(`in ${p.cwd}`);
        replace(info, bits.join(" · "));
        closeStdin.hidden = p.kind === "pty";
        const live = p.state === "running" || p.state === "starting";
        inputForm.hidden = !live;
    };

    const stopFollow = () => {
        if (follow) follow.abort();
        follow = null;
    };

    // Shows the output of pid from the start of the ring, live.
    const followOutput = (pid) => {
        stopFollow();
        const ac = new AbortController();
        follow = ac;
        replace(out);
        replace(streamNote, "Connecting to the output…");
        const decoders = {};
        let shown = 0;
        const put = (text, stream) => {
            if (!text) return;
            out.appendChild(stream === "stderr" ? h("span", { class: "stderr" }, text) : document.createTextNode(text));
            shown += text.length;
            while (shown > MAX_SHOWN && out.firstChild) {
                shown -= out.firstChild.textContent.length;
                out.firstChild.remove();
            }
            out.scrollTop = out.scrollHeight;
        };
        apiLines(`${base}/${encodeURIComponent(pid)}/connect`, (ev) => {
            if (ac.signal.aborted) return;
            if (ev.type === "data") {
                const dec = decoders[ev.stream] || (decoders[ev.stream] = new TextDecoder("utf-8"));
                put(dec.decode(b64bytes(ev.data_base64), { stream: true }).replace(ESCAPES, ""), ev.stream);
                replace(streamNote, "Following the output.");
            } else if (ev.type === "exit") {
                const p = { exit_code: ev.exit_code, signal: ev.signal };
                replace(streamNote, `Exited with code ${exitText(p)}.`);
                streamNote.dataset.exit = String(ev.exit_code);
            } else if (ev.type === "error") {
                put(`\n[${ev.error}]\n`, "stderr");
            }
        }, { signal: ac.signal }).then(() => {
            if (ac.signal.aborted) return;
            if (streamNote.dataset.exit === undefined) replace(streamNote, "The output stream ended.");
            refresh().catch(() => {});
        }).catch((e) => {
            if (e.name === "AbortError" || ac.signal.aborted) return;
            replace(streamNote, "");
            showError(streamNote, e);
        });
    };

    const select = (pid) => {
        selected = pid;
        detail.hidden = false;
        delete streamNote.dataset.exit;
        clearError(streamNote);
        drawList();
        drawDetail(procs.find((p) => p.process_id === pid));
        followOutput(pid);
    };

    const listCard = h("section", { class: "card" }, h("h2", null, "Processes"), list);
    const notRunning = h("p", { class: "hint", "data-testid": "proc-not-running", hidden: true });
    const body = h("div", { class: "procs" }, form, listCard, detail);
    replace(panel, notRunning, body);

    let stopPoll = null;
    const apply = (sb) => {
        const now = sb.status === "running";
        if (now && !stopPoll) stopPoll = poll(refresh, 2500, (e) => showError(list, e));
        if (!now && stopPoll) {
            stopPoll();
            stopPoll = null;
            stopFollow();
        }
        notRunning.hidden = now;
        body.hidden = !now;
        if (!now) replace(notRunning, `Managed processes need a running sandbox; this one is ${sb.status}.`);
    };
    const unsubscribe = ctx.onChange(apply);
    apply(ctx.sb);
    return () => {
        unsubscribe();
        if (stopPoll) stopPoll();
        stopFollow();
    };
}
