// terminal.js: the sandbox's terminal tab: xterm.js over GET /v1/sandboxes/{id}/shell-ws
// (docs/api.md §3.12.3). The browser sends the §3.12.1 frame stream in binary messages (type
// 0x00 input, 0x01 resize with rows and columns as u16 big-endian, after a u32 big-endian
// length); the server sends raw terminal output in binary messages and closes with 1000 when
// the shell ends (the API does not send its exit status). The terminal fits its panel and
// tells the shell each new size. Copy: the selection (Ctrl+Shift+C or the button); paste:
// Ctrl+Shift+V (the browser's own paste) or the button (the clipboard API, where allowed).
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { h, replace } from "../../dom.js";
import { api, ApiError, wsUrl } from "../../api.js";
import { button, showError, clearError } from "../../ui.js";
import { openTerminal } from "./xterm-csp.js";

const enc = new TextEncoder();

// One frame of §3.12.1: type, u32 big-endian length, payload.
function frame(type, payload) {
    const f = new Uint8Array(5 + payload.length);
    f[0] = type;
    new DataView(f.buffer).setUint32(1, payload.length);
    f.set(payload, 5);
    return f;
}

function resizeFrame(rows, cols) {
    const p = new Uint8Array(4);
    const v = new DataView(p.buffer);
    v.setUint16(0, rows);
    v.setUint16(2, cols);
    return frame(1, p);
}

// Why a close happened, for people (RFC 6455 codes).
function closeText(ev) {
    if (ev.code === 1000) return "The shell ended.";
    if (ev.code === 1002) return "The server ended the session (protocol error).";
    if (ev.code === 1006) return "The connection was lost.";
    return `The session closed (code ${ev.code}${ev.reason ? `: ${ev.reason}` : ""}).`;
}

export function render(panel, ctx) {
    const state = h("span", { class: "term-state", "data-testid": "term-state", "data-state": "idle", role: "status" });
    const screen = h("div", { class: "term-screen", "data-testid": "term-screen" });
    const term = new Terminal({
        cursorBlink: true,
        fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, monospace',
        fontSize: 14,
        scrollback: 5000,
        allowProposedApi: false,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);

    let ws = null;
    let running = ctx.sb.status === "running";

    const setState = (s, text) => {
        state.dataset.state = s;
        replace(state, text);
    };

    const send = (bytes) => {
        if (ws && ws.readyState === WebSocket.OPEN) ws.send(bytes);
    };

    const refit = () => {
        if (!screen.isConnected || screen.clientWidth === 0) return;
        try { fit.fit(); } catch { /* not measurable yet */ }
    };

    // The server's own words when the handshake was refused (a browser cannot read the
    // answer to a failed WebSocket handshake): the same route without the upgrade gives the
    // sandbox/state error as JSend, or 426 when the route itself was fine.
    const whyRefused = async () => {
        try {
            await api("GET", `/v1/sandboxes/${encodeURIComponent(ctx.id)}/shell-ws`);
        } catch (e) {
            if (e instanceof ApiError && e.status !== 426) return e.message;
        }
        return "The connection failed.";
    };

    const disconnect = () => {
        if (!ws) return;
        const old = ws;
        ws = null;
        old.onopen = old.onmessage = old.onclose = old.onerror = null;
        try { old.close(1000); } catch { /* already closed */ }
    };

    const connect = () => {
        disconnect();
        clearError(reconnect);
        term.reset();
        setState("connecting", "Connecting…");
        const sock = new WebSocket(wsUrl(`/v1/sandboxes/${encodeURIComponent(ctx.id)}/shell-ws`));
        sock.binaryType = "arraybuffer";
        let opened = false;
        ws = sock;
        sock.onopen = () => {
            opened = true;
            setState("connected", "Connected");
            refit();
            sock.send(resizeFrame(term.rows, term.cols));
            term.focus();
        };
        sock.onmessage = (ev) => {
            term.write(typeof ev.data === "string" ? ev.data : new Uint8Array(ev.data));
        };
        sock.onclose = async (ev) => {
            if (ws !== sock) return;
            ws = null;
            if (opened) {
                setState(ev.code === 1000 ? "exited" : "error", closeText(ev));
            } else {
                setState("error", "Could not connect.");
                setState("error", await whyRefused());
            }
        };
    };

    const reconnect = button("Reconnect", async () => connect(), { id: "term-reconnect", testid: "term-reconnect" });
    const copy = button("Copy", async () => {
        const sel = term.getSelection();
        if (!sel) throw new Error("Select some text in the terminal first.");
        await navigator.clipboard.writeText(sel);
    }, { id: "term-copy", title: "Copy the selection (Ctrl+Shift+C)" });
    const paste = button("Paste", async () => {
        if (!navigator.clipboard?.readText) throw new Error("This browser does not let pages read the clipboard: use Ctrl+Shift+V.");
        const text = await navigator.clipboard.readText();
        term.paste(text);
        term.focus();
    }, { id: "term-paste", title: "Paste (Ctrl+Shift+V)" });

    term.onData((s) => send(frame(0, enc.encode(s))));
    term.onBinary((s) => send(frame(0, Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff))));
    term.onResize(({ rows, cols }) => send(resizeFrame(rows, cols)));
    term.attachCustomKeyEventHandler((ev) => {
        if (ev.type !== "keydown" || !ev.ctrlKey || !ev.shiftKey) return true;
        if (ev.code === "KeyC") {
            const sel = term.getSelection();
            if (sel && navigator.clipboard) navigator.clipboard.writeText(sel).catch((e) => showError(copy, e));
            ev.preventDefault();
            return false;
        }
        // Ctrl+Shift+V: leave it to the browser, whose paste event xterm reads
        return ev.code !== "KeyV";
    });

    const notRunning = h("p", { class: "hint", "data-testid": "term-not-running", hidden: true });
    const bar = h("div", { class: "term-bar" }, state, h("div", { class: "actions" }, copy, paste, reconnect));
    const box = h("div", { class: "term-box" }, bar, screen);
    replace(panel, notRunning, box);
    openTerminal(term, screen);

    const ro = new ResizeObserver(() => refit());
    ro.observe(screen);
    window.addEventListener("resize", refit);

    const apply = (sb) => {
        const now = sb.status === "running";
        if (now) {
            notRunning.hidden = true;
            box.hidden = false;
            if (!running || (!ws && state.dataset.state === "idle")) connect();
        } else {
            disconnect();
            replace(notRunning, `The terminal needs a running sandbox; this one is ${sb.status}.`);
            notRunning.hidden = false;
            box.hidden = true;
            setState("idle", "Not connected");
        }
        running = now;
    };
    const unsubscribe = ctx.onChange(apply);
    apply(ctx.sb);

    return () => {
        unsubscribe();
        ro.disconnect();
        window.removeEventListener("resize", refit);
        disconnect();
        term.dispose();
    };
}
