// processes.js: the sandbox's processes (not built yet).
import { h, replace } from "../../dom.js";

export function render(el) {
    replace(el, h("p", { class: "hint" }, "the sandbox's processes: coming soon."));
}
