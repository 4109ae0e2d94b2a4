// signin.js: sign in with an API key. The key is checked with GET /v1/whoami and kept in the
// tab's session only (session.js); a delegated sandbox token cannot sign in (whoami is 403).
import { h, replace } from "../dom.js";
import { ApiError } from "../api.js";
import { store, takeFlash } from "../session.js";
import { showError, clearError } from "../ui.js";

export function render(main) {
    document.title = "Sign in · hearth";
    const flash = takeFlash();
    const input = h("input", {
        id: "signin-key", type: "password", name: "key", autocomplete: "off", spellcheck: "false",
        required: true, placeholder: "hk_…", "aria-describedby": "signin-help",
    });
    const submit = h("button", { id: "signin-submit", type: "submit", class: "btn btn-primary" }, "Sign in");
    const form = h("form", { class: "signin card", "aria-labelledby": "signin-title" },
        h("h1", { id: "signin-title" }, "Sign in to hearth"),
        flash ? h("p", { class: "flash", role: "alert" }, flash) : null,
        h("label", { for: "signin-key" }, "API key"),
        input,
        h("p", { id: "signin-help", class: "hint" },
            "An admin key is in the data directory's admin.key; `hearthd keys create` makes more. "
            + "The key stays in this browser tab only."),
        submit);
    form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        clearError(submit);
        const key = input.value.trim();
        if (!/^hk_[A-Za-z0-9_-]{43}$/.test(key)) {
            showError(submit, new Error("That is not an API key: they look like hk_ and 43 more characters."));
            return;
        }
        submit.disabled = true;
        try {
            // not api(): a 401 here is a wrong key, not an expired session
            const r = await fetch("/v1/whoami", { headers: { "X-Api-Key": key }, cache: "no-store" });
            const j = await r.json().catch(() => ({}));
            if (!r.ok) {
                const msg = r.status === 401 ? "This key is not valid (wrong, or revoked)."
                    : r.status === 429 ? "Too many failed attempts from here; wait a minute."
                    : (typeof j.data === "string" ? j.data : j.data?.message || j.message || `HTTP ${r.status}`);
                throw new ApiError(r.status, msg);
            }
            store(key, j.data);
            location.hash = "#/sandboxes";
        } catch (e) {
            showError(submit, e.name === "TypeError" ? new Error("The server cannot be reached.") : e);
        } finally {
            submit.disabled = false;
        }
    });
    replace(main, h("div", { class: "signin-wrap" }, form));
    input.focus();
}
