// template.js: one template: details, its build log, delete (not built yet).
import { h, replace } from "../dom.js";

export function render(el) {
    replace(el, h("p", { class: "hint" }, "one template: details, its build log, delete: coming soon."));
}
