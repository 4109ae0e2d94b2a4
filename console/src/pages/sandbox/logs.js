// logs.js: the sandbox's logs (not built yet).
import { h, replace } from "../../dom.js";

export function render(el) {
    replace(el, h("p", { class: "hint" }, "the sandbox's logs: coming soon."));
}
