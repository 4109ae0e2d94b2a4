// overview.js: the sandbox's details (the SandboxView of docs/api.md §2.1, kept fresh by the
// frame's poll), all as text: identity, state and times, image and shape, network settings,
// auto-pause, env var names (the API never returns their values), SSH keys, and, when the
// sandbox is in error or failed, why (the newest failure of its event log, §5.6).
import { h, replace } from "../../dom.js";
import { api } from "../../api.js";
import { fmtBytes, fmtTime, section, statusBadge } from "../../ui.js";

const FAILURES = ["create_failed", "pause_failed", "resume_failed", "failed", "self_dropped"];

function props(pairs) {
    return h("dl", { class: "props" }, pairs.filter(Boolean).map(([k, v, id]) =>
        [h("dt", null, k), h("dd", { "data-field": id }, v === undefined || v === null || v === "" ? "–" : v)]));
}

function list(items, empty, cls) {
    if (!items || !items.length) return empty;
    return h("ul", { class: cls || "plain" }, items.map((x) => h("li", null, h("code", null, x))));
}

function duration(s) {
    if (s % 3600 === 0) return `${s / 3600} h`;
    if (s % 60 === 0) return `${s / 60} min`;
    return `${s} s`;
}

function sbLink(id) {
    return h("a", { href: `#/sandboxes/${encodeURIComponent(id)}` }, h("code", null, id));
}

function details(sb, why, nets) {
    const tpl = String(sb.rootfs).startsWith("tpl_");
    return [
        section("Sandbox", props([
            ["ID", h("code", null, sb.id), "id"],
            ["Name", sb.name, "name"],
            ["Status", statusBadge(sb.status), "status"],
            (sb.status === "error" || sb.status === "failed") && ["Why", why || "–", "why"],
            sb.paused_by && ["Paused by", sb.paused_by + (sb.pause_reason ? `: ${sb.pause_reason}` : ""), "paused_by"],
            ["Image", tpl ? ["template ", h("a", { href: `#/templates/${encodeURIComponent(sb.rootfs)}` }, sb.rootfs)] : sb.rootfs, "rootfs"],
            ["Shape", `${sb.shape}: ${sb.vcpu} vCPU, ${fmtBytes(sb.mem_mib * 1048576)} memory`, "shape"],
            ["Root disk", fmtBytes(sb.disk_mib * 1048576), "disk"],
            ["Region", sb.region, "region"],
            sb.forked_from && ["Forked from", sbLink(sb.forked_from), "forked_from"],
            ["Created by", h("code", null, sb.created_by), "created_by"],
        ])),
        section("Times", props([
            ["Created", fmtTime(sb.created_at), "created_at"],
            sb.running_at && ["First running", fmtTime(sb.running_at), "running_at"],
            sb.spawn_ms !== undefined && ["Start took", `${sb.spawn_ms} ms`, "spawn_ms"],
            sb.paused_at && ["Last paused", fmtTime(sb.paused_at), "paused_at"],
            sb.last_resumed_at && ["Last resumed", fmtTime(sb.last_resumed_at), "last_resumed_at"],
            sb.destroyed_at && ["Destroyed", fmtTime(sb.destroyed_at), "destroyed_at"],
            ["Auto-pause", sb.auto_pause_after_seconds ? `after ${duration(sb.auto_pause_after_seconds)} idle` : "off", "auto_pause"],
        ])),
        section("Network", props([
            ["IP address", sb.ip ? h("code", null, sb.ip) : "none", "ip"],
            ["Private networks", !nets ? "unknown" : nets.length
                ? h("ul", { class: "plain" }, nets.map((n) => h("li", null, h("a", { href: "#/networks" }, n.name),
                    n.ip ? [" ", h("code", null, n.ip)] : null)))
                : "none", "networks"],
            ["Public ingress", sb.ingress_enabled ? "on" : "off", "ingress"],
            sb.ingress_url_template && ["Ingress URL", h("code", null, sb.ingress_url_template), "ingress_url"],
            ["Egress", list(sb.egress, "everything allowed"), "egress"],
            ["Inbound bytes", fmtBytes(sb.bandwidth_ingress_bytes), "ingress_bytes"],
        ])),
        section("Access", props([
            ["Env vars", sb.envs?.length
                ? [list(sb.envs, null, "plain inline"), h("small", { class: "hint" }, "Names only: the API never returns the values.")]
                : "none", "envs"],
            ["SSH keys", list(sb.ssh_pubkeys, "none", "plain keys"), "ssh_pubkeys"],
        ])),
    ];
}

// The private networks sandbox id is a member of, with its address on each: [{name, ip}]. The
// network list has no members, so each network is read (a user has at most a few).
async function memberships(id) {
    const d = await api("GET", "/v1/networks", { query: { limit: 500 } });
    const all = await Promise.all(d.data.filter((n) => n.member_count > 0)
        .map((n) => api("GET", `/v1/networks/${encodeURIComponent(n.id)}`)));
    return all.flatMap((n) => (n.members || []).filter((m) => m.sandbox_id === id).map((m) => ({ name: n.name, ip: m.ip })));
}

// The newest failure event's detail, for a sandbox in error or failed.
async function failureReason(id) {
    const out = [];
    let after = 0;
    for (let i = 0; i < 3; i++) { // at most 256 events are kept
        const d = await api("GET", `/v1/sandboxes/${encodeURIComponent(id)}/events`, { query: { after, limit: 256 } });
        out.push(...d.events);
        if (!d.events.length || d.next_after === after) break;
        after = d.next_after;
    }
    const ev = out.filter((e) => FAILURES.includes(e.kind)).pop();
    if (!ev) return undefined;
    return `${ev.kind}${ev.detail ? `: ${ev.detail}` : ""}${ev.reason ? ` (${ev.reason})` : ""} at ${fmtTime(ev.at)}`;
}

export async function render(panel, ctx) {
    const box = h("div", { class: "overview", id: "overview" });
    replace(panel, box);
    let shown = "";
    let why;
    let whyFor = "";
    let nets;
    let netsFor = "";
    let busy = false;
    let pending = null;
    const draw = async (sb) => {
        if (busy) { // one draw at a time; the newest view waiting is drawn next
            pending = sb;
            return;
        }
        busy = true;
        try {
            await drawNow(sb);
        } finally {
            busy = false;
        }
        if (pending) {
            const next = pending;
            pending = null;
            await draw(next);
        }
    };
    const drawNow = async (sb) => {
        // memberships change on attach/detach: read them again when the status changes
        if (netsFor !== sb.status) {
            netsFor = sb.status;
            try { nets = await memberships(sb.id); } catch { nets = null; }
        }
        if ((sb.status === "error" || sb.status === "failed") && whyFor !== sb.status) {
            whyFor = sb.status;
            try { why = await failureReason(sb.id); } catch (e) { why = `(the event log: ${e.message})`; }
        }
        const key = JSON.stringify([sb, why, nets]);
        if (key === shown) return; // nothing new: leave the DOM (and any selection) alone
        shown = key;
        replace(box, details(sb, why, nets));
    };
    await draw(ctx.sb);
    return ctx.onChange((sb) => { draw(sb); });
}
