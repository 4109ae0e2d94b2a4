// hosts.js: hosts (admin) (not built yet).
import { h, replace } from "../dom.js";

export function render(el) {
    replace(el, h("p", { class: "hint" }, "hosts (admin): coming soon."));
}
