// sandboxes.js: the sandbox list, its filters and the create form (not built yet).
import { h, replace } from "../dom.js";

export function render(el) {
    replace(el, h("p", { class: "hint" }, "the sandbox list, its filters and the create form: coming soon."));
}
