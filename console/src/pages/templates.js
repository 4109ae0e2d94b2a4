// templates.js: templates: list, build with the live log, delete (not built yet).
import { h, replace } from "../dom.js";

export function render(el) {
    replace(el, h("p", { class: "hint" }, "templates: list, build with the live log, delete: coming soon."));
}
