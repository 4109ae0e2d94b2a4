// network.js: the sandbox's network (not built yet).
import { h, replace } from "../../dom.js";

export function render(el) {
    replace(el, h("p", { class: "hint" }, "the sandbox's network: coming soon."));
}
