// network.js: the sandbox's "Network" tab: its egress rules (docs/api.md §3.6: read, edit,
// replace as a whole; a refused rule's message next to its field), its bandwidth (§3.7: used
// against the quota, recharge), its public URLs (the ingress switch of PATCH §3.2.5 and the
// view's ingress_url_template, one URL per guest port, docs/ingress-ssh.md) and the private
// networks it is in (§3.8.5-3.8.6: attach, detach).
import { h, replace } from "../../dom.js";
import { api, ApiError } from "../../api.js";
import { button, clearError, confirmDialog, field, fmtBytes, poll, section, showError, table } from "../../ui.js";

const MAX_RULES = 256;
const MAX_RULE_CHARS = 260;
const MAX_ADD = 2 ** 50;
const BANDWIDTH_MS = 5000;

export function render(panel, ctx) {
    const base = `/v1/sandboxes/${encodeURIComponent(ctx.id)}`;
    const stops = [
        egress(panel, base),
        bandwidth(panel, base),
        ingress(panel, ctx, base),
        networks(panel, ctx, base),
    ];
    return () => stops.forEach((s) => s && s());
}

// True when a stored rule list lets everything out (§3.6.2).
export function allowsAll(rules) {
    return !rules || rules.length === 0 || rules.includes("*");
}

function egress(panel, base) {
    const policy = h("p", { id: "egress-policy", role: "status" });
    const modeAll = h("input", { type: "radio", name: "egress-mode", id: "egress-mode-all", value: "all" });
    const modeList = h("input", { type: "radio", name: "egress-mode", id: "egress-mode-list", value: "list" });
    const rows = h("ol", { class: "egress-rules", id: "egress-rules" });
    const inputs = [];
    let nextId = 0;

    const addRow = (value = "") => {
        const id = `egress-rule-${nextId++}`;
        const input = h("input", { type: "text", id, class: "egress-rule mono", value, maxlength: MAX_RULE_CHARS,
                                   spellcheck: "false", autocomplete: "off", placeholder: "api.example.com:443" });
        const label = h("label", { for: id, class: "rule-label" }, "");
        const li = h("li", { class: "egress-row" }, label, input);
        const remove = button("Remove", () => {
            inputs.splice(inputs.indexOf(input), 1);
            li.remove();
            numberRows();
        }, { kind: "quiet", label: "Remove this rule", class: "egress-remove" });
        li.appendChild(remove);
        inputs.push(input);
        rows.appendChild(li);
        numberRows();
        return input;
    };
    const numberRows = () => {
        inputs.forEach((inp, i) => replace(inp.previousSibling, `Rule ${i + 1}`));
        add.disabled = inputs.length >= MAX_RULES;
    };
    const add = button("Add a rule", () => {
        modeList.checked = true;
        syncMode();
        addRow().focus();
    }, { id: "egress-add" });
    const syncMode = () => {
        rows.hidden = modeAll.checked;
        add.disabled = inputs.length >= MAX_RULES;
    };
    const show = (rules) => {
        replace(policy, allowsAll(rules)
            ? "Now: all outbound traffic is allowed."
            : `Now: only ${rules.length} destination rule${rules.length === 1 ? "" : "s"} allowed; everything else is refused.`);
        inputs.length = 0;
        replace(rows);
        const list = allowsAll(rules) ? [] : rules;
        modeAll.checked = allowsAll(rules);
        modeList.checked = !modeAll.checked;
        for (const r of list) addRow(r);
        syncMode();
    };
    modeAll.addEventListener("change", syncMode);
    modeList.addEventListener("change", () => {
        syncMode();
        if (!inputs.length) addRow();
    });

    const save = button("Save egress rules", async () => {
        inputs.forEach((i) => clearError(i));
        let sent = [];
        if (modeList.checked) {
            sent = inputs.map((i) => [i, i.value.trim()]).filter(([, v]) => v !== "");
            if (!sent.length) throw new ApiError(0, "Add at least one rule, or choose to allow all traffic (an empty list allows everything).");
            for (const [i, v] of sent) {
                if (v.length > MAX_RULE_CHARS) {
                    showError(i, `at most ${MAX_RULE_CHARS} characters`);
                    throw new ApiError(0, "Not saved: a rule is too long.");
                }
            }
        }
        try {
            const d = await api("PUT", `${base}/egress`, { body: { egress: sent.map(([, v]) => v) } });
            show(d.egress || []);
        } catch (e) {
            let placed = 0;
            for (const [k, msg] of Object.entries(e.fields || {})) {
                const m = /^egress\[(\d+)\]$/.exec(k);
                if (m && sent[Number(m[1])]) {
                    showError(sent[Number(m[1])][0], msg);
                    placed++;
                }
            }
            if (placed) throw new ApiError(e.status, "Not saved: see the rule marked above. Nothing changed.");
            throw e;
        }
    }, { kind: "primary", id: "egress-save" });

    panel.appendChild(section("Egress",
        h("p", { class: "hint" }, "Where the sandbox may connect to. Rules: ", h("code", null, "host"), ", ",
            h("code", null, "host:port"), ", ", h("code", null, "*.domain"), ", ", h("code", null, "1.2.3.4"), ", ",
            h("code", null, "10.0.0.0/8:443"), ". Saving replaces the whole list; a running sandbox gets it within a second."),
        policy,
        h("fieldset", { class: "egress-mode" }, h("legend", null, "Outbound traffic"),
            h("label", { class: "check" }, modeAll, " Allow all"),
            h("label", { class: "check" }, modeList, " Allow only the destinations below")),
        rows,
        h("div", { class: "actions" }, add, save)));
    let stopped = false;
    api("GET", `${base}/egress`).then((d) => { if (!stopped) show(d.egress || []); },
        (e) => showError(policy, e));
    return () => { stopped = true; };
}

function bandwidth(panel, base) {
    const meter = h("meter", { id: "bw-meter", min: "0", max: "1", value: "0", "aria-labelledby": "bw-text" });
    const text = h("p", { id: "bw-text" }, "Loading…");
    const extra = h("p", { class: "hint", id: "bw-extra" });
    const amount = h("input", { type: "number", id: "bw-amount", min: "1", step: "any", value: "1", inputmode: "decimal" });
    const unit = h("select", { id: "bw-unit" },
        h("option", { value: String(2 ** 20) }, "MiB"),
        h("option", { value: String(2 ** 30), selected: true }, "GiB"));
    const show = (b) => {
        meter.hidden = b.quota_bytes < 0;
        if (b.quota_bytes < 0) {
            replace(text, `Unmetered: ${fmtBytes(b.used_bytes)} sent so far.`);
        } else {
            meter.max = Math.max(b.quota_bytes, 1);
            meter.value = Math.min(b.used_bytes, meter.max);
            meter.high = meter.max * 0.9;
            replace(text, `${fmtBytes(b.used_bytes)} of ${fmtBytes(b.quota_bytes)} sent`,
                b.capped ? h("strong", { class: "capped" }, " — quota spent: outbound traffic is dropped") : null);
        }
        text.dataset.quota = String(b.quota_bytes);
        text.dataset.used = String(b.used_bytes);
        replace(extra, `Received: ${fmtBytes(b.ingress_bytes)} (counted, not limited).`,
            b.quota_bytes >= 0 ? ` Left: ${fmtBytes(Math.max(b.remaining_bytes, 0))}.` : "");
    };
    const recharge = button("Add to the quota", async () => {
        const n = Number(amount.value);
        const add = Math.round(n * Number(unit.value));
        if (!Number.isFinite(n) || add < 1 || add > MAX_ADD) {
            throw new ApiError(0, "Give an amount from 1 byte to 1 PiB.");
        }
        show(await api("POST", `${base}/bandwidth/recharge`, { body: { add_bytes: add } }));
    }, { kind: "primary", id: "bw-recharge" });
    panel.appendChild(section("Bandwidth",
        h("p", { class: "hint" }, "Outbound bytes to places outside hearth count against the quota; at the quota, outbound traffic stops until it is raised."),
        text, meter, extra,
        h("div", { class: "inline-form" }, field("Amount", amount), field("Unit", unit), recharge)));
    return poll(async () => {
        show(await api("GET", `${base}/bandwidth`));
        clearError(text);
    }, BANDWIDTH_MS, (e) => showError(text, e));
}

// The URL of a guest port from the view's template; null unless it is http(s).
export function portUrl(template, port) {
    if (!template) return null;
    const u = template.split("<port>").join(String(port));
    try {
        const p = new URL(u).protocol;
        return p === "http:" || p === "https:" ? u : null;
    } catch {
        return null;
    }
}

// Ports in LISTEN state in /proc/net/tcp{,6} text, without the agent's self endpoint.
export function listeningPorts(procNet) {
    const ports = new Set();
    for (const line of procNet.split("\n")) {
        const f = line.trim().split(/\s+/);
        if (f.length > 3 && f[3] === "0A") {
            const port = parseInt(f[1].split(":").pop(), 16);
            if (port > 0 && port !== 1029) ports.add(port);
        }
    }
    return [...ports].sort((a, b) => a - b);
}

function ingress(panel, ctx, base) {
    const key = `hearth.ports.${ctx.id}`;
    let ports = [];
    try { ports = JSON.parse(sessionStorage.getItem(key) || "[]").filter((p) => Number.isInteger(p)); } catch { ports = []; }
    const toggle = h("input", { type: "checkbox", id: "ingress-enabled", checked: !!ctx.sb.ingress_enabled });
    const toggleLabel = h("label", { class: "check" }, toggle, " Public HTTP URLs (ingress) for this sandbox's ports");
    const port = h("input", { type: "number", id: "preview-port", min: "1", max: "65535", step: "1", placeholder: "8080", inputmode: "numeric" });
    const list = h("ul", { class: "preview-urls", id: "preview-urls" });
    const body = h("div");
    const remember = () => sessionStorage.setItem(key, JSON.stringify(ports));

    const drawList = () => {
        const tpl = ctx.sb.ingress_url_template;
        replace(list, ports.map((p) => {
            const u = portUrl(tpl, p);
            const rm = button("Remove", () => {
                ports = ports.filter((x) => x !== p);
                remember();
                drawList();
            }, { kind: "quiet", label: `Remove port ${p} from this list` });
            return h("li", { "data-port": p }, h("span", { class: "port" }, `Port ${p}: `),
                u ? h("a", { href: u, target: "_blank", rel: "noopener noreferrer", class: "mono" }, u)
                  : h("span", { class: "hint" }, "no URL"), " ", rm);
        }));
    };
    const addPort = (p) => {
        if (!ports.includes(p)) ports.push(p);
        ports.sort((a, b) => a - b);
        remember();
        drawList();
    };
    const show = button("Show its URL", async () => {
        const p = Number(port.value);
        if (!Number.isInteger(p) || p < 1 || p > 65535) throw new ApiError(0, "A port is a whole number from 1 to 65535.");
        addPort(p);
        port.value = "";
    }, { id: "preview-add", type: "submit" });
    const detect = button("Find listening ports", async () => {
        if (ctx.sb.status !== "running") throw new ApiError(0, "The sandbox must be running.");
        const d = await api("POST", `${base}/exec`, { body: { cmd: "cat", args: ["/proc/net/tcp", "/proc/net/tcp6"], timeout_ms: 20000 } });
        const found = listeningPorts(d.result?.stdout || "");
        found.forEach(addPort);
        replace(detectState, found.length ? `Found: ${found.join(", ")}.` : "Nothing listens on a TCP port.");
    }, { id: "preview-detect" });
    const detectState = h("span", { class: "hint", role: "status" });

    const draw = () => {
        toggle.checked = !!ctx.sb.ingress_enabled;
        if (!ctx.sb.ingress_enabled) {
            replace(body, h("p", { class: "hint" }, "Off: nothing outside hearth reaches this sandbox's ports. Switch it on to get one URL per port; anyone who knows a URL can reach that port unless the operator made ingress private."));
            return;
        }
        if (!ctx.sb.ingress_url_template) {
            replace(body, h("p", { class: "hint" }, "On, but this server has no ingress domain configured, so there are no URLs."));
            return;
        }
        replace(body,
            h("p", null, "URL pattern: ", h("code", { id: "ingress-template" }, ctx.sb.ingress_url_template)),
            h("form", { class: "inline-form", on: { submit: (e) => e.preventDefault() } },
                field("Port in the sandbox", port), show, detect, detectState),
            list);
        drawList();
    };
    toggle.addEventListener("change", async () => {
        const want = toggle.checked;
        toggle.disabled = true;
        clearError(toggleLabel);
        try {
            const sb = await api("PATCH", base, { body: { ingress_enabled: want } });
            ctx.sb = sb;
            await ctx.refresh().catch(() => {});
        } catch (e) {
            toggle.checked = !want;
            showError(toggleLabel, e);
        } finally {
            toggle.disabled = false;
            draw();
        }
    });
    let was = `${ctx.sb.ingress_enabled}|${ctx.sb.ingress_url_template}`;
    const unsub = ctx.onChange((sb) => {
        const now = `${sb.ingress_enabled}|${sb.ingress_url_template}`;
        if (now !== was && !toggle.disabled) draw();
        was = now;
    });
    panel.appendChild(section("Public URLs", toggleLabel, body));
    draw();
    return unsub;
}

function networks(panel, ctx, base) {
    const box = h("div", { id: "sb-networks" }, h("p", { class: "hint" }, "Loading…"));
    const select = h("select", { id: "net-attach-select" });
    let stopped = false;

    const load = async () => {
        const d = await api("GET", "/v1/networks", { query: { limit: 500 } });
        const all = d.data || [];
        const details = await Promise.all(all.filter((n) => n.member_count > 0)
            .map((n) => api("GET", `/v1/networks/${encodeURIComponent(n.id)}`).catch(() => null)));
        const mine = [];
        for (const n of details) {
            const m = n?.members?.find((x) => x.sandbox_id === ctx.id);
            if (m) mine.push({ ...n, ip: m.ip });
        }
        if (stopped) return;
        const joined = new Set(mine.map((n) => n.id));
        replace(box, table([
            { title: "Network", cell: (n) => h("a", { href: "#/networks" }, n.name) },
            { title: "Address here", cell: (n) => n.ip ? h("code", null, n.ip) : h("span", { class: "hint" }, "not configured yet") },
            { title: "Members", cell: (n) => String(n.member_count) },
            { title: "", cell: (n) => button("Detach", async () => {
                if (!await confirmDialog(`Detach this sandbox from the network "${n.name}"? Its interface there goes away.`, { confirm: "Detach", danger: true })) return;
                await api("DELETE", `${base}/networks/${encodeURIComponent(n.id)}`);
                await load();
            }, { kind: "danger", label: `Detach from ${n.name}`, testid: `net-detach-${n.name}` }) },
        ], mine, { label: "Private networks of this sandbox", empty: "Not in any private network.", rowKey: (n) => n.id }));
        const free = all.filter((n) => !joined.has(n.id));
        replace(select, free.length ? free.map((n) => h("option", { value: n.id }, n.name))
            : h("option", { value: "" }, "no other network"));
        attach.disabled = !free.length;
    };
    const attach = button("Attach", async () => {
        if (!select.value) throw new ApiError(0, "Choose a network (create one on the Networks page).");
        await api("POST", `${base}/networks`, { body: { id: select.value } });
        await load();
    }, { id: "net-attach" });
    panel.appendChild(section("Private networks",
        h("p", { class: "hint" }, "Members of a network reach each other on every port, by name; egress rules do not apply between them. ",
            h("a", { href: "#/networks" }, "Manage networks")),
        box,
        h("div", { class: "inline-form" }, field("Attach to", select), attach)));
    load().catch((e) => showError(box, e));
    return () => { stopped = true; };
}
