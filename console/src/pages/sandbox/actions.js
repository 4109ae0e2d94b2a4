// actions.js: the sandbox header's lifecycle buttons (docs/api.md §3.3): pause, resume, fork
// (a dialog: how many children, start paused or not; then links to them) and destroy (after
// a confirmation; then back to the list). Each is enabled only in the states §2.14.3 allows
// and follows the status the frame polls (ctx.onChange); an API error shows next to its button.
import { h, replace } from "../../dom.js";
import { api } from "../../api.js";
import { button, confirmDialog, field, statusBadge } from "../../ui.js";

const ENABLED = {
    pause: ["running"],
    resume: ["paused", "error"],
    fork: ["paused", "pausing"],
    destroy: ["creating", "running", "pausing", "paused", "resuming", "forking", "error", "failed"],
};

const path = (ctx, op) => `/v1/sandboxes/${encodeURIComponent(ctx.id)}/${op}`;

// After a 202 (pausing, resuming) the frame's 2 s poll would do; read it back a little sooner.
async function refreshSoon(ctx) {
    await ctx.refresh();
    setTimeout(() => ctx.refresh().catch(() => {}), 700);
}

// The fork dialog: count (1–10) and start_paused (§3.3.3); forks one child at a time and lists
// them as they come. Resolves when closed.
function forkDialog(ctx) {
    return new Promise((resolve) => {
        const count = h("input", { id: "fork-count", type: "number", min: "1", max: "10", step: "1", value: "1", inputmode: "numeric" });
        const paused = h("input", { id: "fork-paused", type: "checkbox" });
        const out = h("ul", { class: "fork-children", id: "fork-children", "aria-live": "polite" });
        const close = h("button", { type: "button", class: "btn", id: "fork-close" }, "Close");
        const go = button("Fork", async () => {
            const n = Number(count.value);
            if (!Number.isInteger(n) || n < 1 || n > 10) throw new Error("Between 1 and 10 children.");
            for (let i = 0; i < n; i++) {
                const child = await api("POST", path(ctx, "fork"), { body: { start_paused: paused.checked } });
                out.appendChild(h("li", null, h("a", { href: `#/sandboxes/${encodeURIComponent(child.id)}`, class: "fork-child" }, child.name),
                    " ", h("code", null, child.id), " ", statusBadge(child.status)));
            }
            ctx.refresh().catch(() => {});
        }, { kind: "primary", id: "fork-submit" });
        const dlg = h("dialog", { class: "fork-dialog", "aria-labelledby": "fork-title", id: "fork-dialog" },
            h("h2", { id: "fork-title" }, `Fork ${ctx.sb.name}`),
            h("p", { class: "hint" }, "Each child starts from a copy of this paused sandbox's disk and memory, with its own id, name and address."),
            field("Children", count, "1–10, made one after the other."),
            h("label", { class: "check" }, paused, " Keep the children paused"),
            out,
            h("div", { class: "actions" }, close, go));
        const done = () => {
            dlg.close();
            dlg.remove();
            resolve();
        };
        close.addEventListener("click", done);
        dlg.addEventListener("cancel", (e) => { e.preventDefault(); done(); });
        // following a child's link leaves this page: take the dialog away with it
        out.addEventListener("click", (e) => { if (e.target.closest("a")) done(); });
        document.body.appendChild(dlg);
        dlg.showModal();
        count.focus();
    });
}

export function render(bar, ctx) {
    // button() enables its button when the action ends: set it from the status right after
    const act = (fn) => async () => {
        try {
            await fn();
        } finally {
            setTimeout(() => update(ctx.sb), 0);
        }
    };
    const pause = button("Pause", act(async () => {
        await api("POST", path(ctx, "pause"));
        await refreshSoon(ctx);
    }), { id: "action-pause", title: "Snapshot the VM and stop it; resume carries on where it was" });
    const resume = button("Resume", act(async () => {
        await api("POST", path(ctx, "resume"));
        await refreshSoon(ctx);
    }), { id: "action-resume" });
    const fork = button("Fork…", act(() => forkDialog(ctx)), { id: "action-fork", title: "Fork needs a paused sandbox" });
    const destroy = button("Destroy", act(async () => {
        const sb = ctx.sb;
        const ok = await confirmDialog(`Destroy sandbox ${sb.name} (${sb.id})? The VM, its snapshot and its disk are deleted; there is no undo.`,
            { confirm: "Destroy", danger: true });
        if (!ok) return;
        await api("DELETE", `/v1/sandboxes/${encodeURIComponent(ctx.id)}`);
        location.hash = "#/sandboxes";
    }), { kind: "danger", id: "action-destroy" });
    const buttons = { pause, resume, fork, destroy };
    replace(bar, pause, resume, fork, destroy);

    function update(sb) {
        for (const [op, b] of Object.entries(buttons)) {
            if (b.hasAttribute("aria-busy")) continue; // its action is running
            b.disabled = !ENABLED[op].includes(sb.status);
        }
    }
    update(ctx.sb);
    return ctx.onChange(update);
}
