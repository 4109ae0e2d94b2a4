// api.js: the console's only way to the server: hearth's public REST API (docs/api.md), same
// origin, with the signed-in key in X-Api-Key. The console can therefore never do more than
// its key allows. Every failure becomes an ApiError carrying the JSend message, which the page
// shows next to the control that caused it (ui.js). A 401 means the key is wrong or revoked:
// the session ends and the sign-in page says so.
import { apiKey, signOut } from "./session.js";

export const REVOKED = "Your API key is not valid any more (wrong, or revoked). Sign in again.";

export class ApiError extends Error {
    // status: HTTP status (0: the network); code: the machine code (data.code) if any;
    // fields: the object-form fail data (field -> message) if any.
    constructor(status, message, code, fields) {
        super(message);
        this.name = "ApiError";
        this.status = status;
        this.code = code;
        this.fields = fields;
    }
}

// "/v1/x" + {a: 1, b: undefined} -> "/v1/x?a=1"
export function url(path, query) {
    if (!query) return path;
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
        if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
    }
    const s = q.toString();
    return s ? `${path}${path.includes("?") ? "&" : "?"}${s}` : path;
}

// The message of a JSend fail/error body (docs/api.md §1.4), for people.
function failMessage(status, body) {
    if (!body || typeof body !== "object") return `HTTP ${status}`;
    if (body.status === "error") return body.message || `HTTP ${status}`;
    const d = body.data;
    if (typeof d === "string") return d;
    if (d && typeof d === "object") {
        if (d.message) return d.message;
        const parts = Object.entries(d).filter(([k]) => k !== "code").map(([k, v]) => `${k}: ${v}`);
        if (parts.length) return parts.join("; ");
        if (d.code) return d.code;
    }
    return `HTTP ${status}`;
}

async function failure(r) {
    let body;
    try {
        body = await r.json();
    } catch {
        body = undefined;
    }
    const d = body?.data;
    const code = (d && typeof d === "object" && d.code) || undefined;
    const fields = d && typeof d === "object" && !Array.isArray(d) ? d : undefined;
    return new ApiError(r.status, failMessage(r.status, body), code, fields);
}

// Sends a request. opts: query (object), body (a Blob/File/ArrayBuffer/Uint8Array is sent raw
// as application/octet-stream, anything else as JSON), signal, raw (resolve with the Response
// itself instead of JSend data; non-2xx still throws). Resolves with the JSend data.
export async function api(method, path, opts = {}) {
    const headers = { "X-Api-Key": apiKey() || "" };
    let body;
    if (opts.body instanceof Blob || opts.body instanceof ArrayBuffer || ArrayBuffer.isView(opts.body)) {
        body = opts.body;
        headers["Content-Type"] = "application/octet-stream";
    } else if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers["Content-Type"] = "application/json";
    }
    let r;
    try {
        r = await fetch(url(path, opts.query), { method, headers, body, signal: opts.signal, cache: "no-store" });
    } catch (e) {
        if (e.name === "AbortError") throw e;
        throw new ApiError(0, "The server cannot be reached.", "network");
    }
    if (r.status === 401) {
        signOut(REVOKED);
        throw await failure(r);
    }
    if (!r.ok) throw await failure(r);
    if (opts.raw) return r;
    const j = await r.json();
    return j.data;
}

// Follows an NDJSON stream (exec ?stream=true, logs ?follow=true, events, process output):
// calls onLine(object) for each line, empty keep-alive lines skipped; resolves when the stream
// ends. opts as api() (method defaults to GET).
export async function apiLines(path, onLine, opts = {}) {
    const r = await api(opts.method || "GET", path, { ...opts, raw: true });
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, i).trim();
            buf = buf.slice(i + 1);
            if (line) onLine(JSON.parse(line));
        }
    }
    if (buf.trim()) onLine(JSON.parse(buf));
}

// The ws:// URL of a WebSocket route (shell-ws): browsers cannot set headers on WebSockets, so
// the key goes in ?api_key= (docs/api.md §3.12.3).
export function wsUrl(path, query = {}) {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}${url(path, { ...query, api_key: apiKey() })}`;
}

// Uploads a Blob as the raw body of a PUT or POST (files, §3.5.1) like api(), but through
// XMLHttpRequest so that onProgress(sentBytes, totalBytes) can follow it (fetch cannot report
// upload progress). opts: query, signal, onProgress. Resolves with the JSend data.
export function apiUpload(method, path, blob, opts = {}) {
    return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open(method, url(path, opts.query));
        xhr.setRequestHeader("X-Api-Key", apiKey() || "");
        xhr.setRequestHeader("Content-Type", "application/octet-stream");
        if (opts.onProgress) xhr.upload.onprogress = (e) => opts.onProgress(e.loaded, e.total);
        xhr.onerror = () => reject(new ApiError(0, "The server cannot be reached.", "network"));
        xhr.onabort = () => reject(new DOMException("The upload was cancelled.", "AbortError"));
        xhr.onload = async () => {
            const r = new Response(xhr.responseText, { status: xhr.status });
            if (xhr.status === 401) signOut(REVOKED);
            if (xhr.status < 200 || xhr.status > 299) {
                reject(await failure(r));
                return;
            }
            try {
                resolve(JSON.parse(xhr.responseText).data);
            } catch {
                reject(new ApiError(xhr.status, "The server's answer was not JSON."));
            }
        };
        opts.signal?.addEventListener("abort", () => xhr.abort());
        xhr.send(blob);
    });
}
