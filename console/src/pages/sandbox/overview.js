// overview.js: the sandbox's overview (not built yet).
import { h, replace } from "../../dom.js";

export function render(el) {
    replace(el, h("p", { class: "hint" }, "the sandbox's overview: coming soon."));
}
