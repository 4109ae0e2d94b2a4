// terminal.js: the sandbox's terminal (not built yet).
import { h, replace } from "../../dom.js";

export function render(el) {
    replace(el, h("p", { class: "hint" }, "the sandbox's terminal: coming soon."));
}
