// forms.js: what the console's create forms share: the name rule of networks, disks and
// templates (docs/api.md §1.9), and placing a 400's field errors next to their controls.
import { showError } from "./ui.js";

export const NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const NAME_RULE = "1–63 characters: lower-case letters, digits and '-', starting with a letter or digit.";

// Shows each field error of a 400 (err.fields: field -> message, e.g. {"dockerfile": "line 3:
// …"} or {"config.endpoint": "…"}) next to its control: controls maps a field (or its first
// part, "config" for "config.bucket") to the control. True when at least one was placed; the
// caller shows the error elsewhere otherwise.
export function placeFieldErrors(err, controls) {
    if (err?.status !== 400 || !err.fields) return false;
    let placed = false;
    for (const [k, msg] of Object.entries(err.fields)) {
        const c = controls[k] || controls[k.split(/[.[]/)[0]];
        if (k === "code" || !c || typeof msg !== "string") continue;
        showError(c, new Error(msg));
        placed = true;
    }
    return placed;
}
