// metrics.js: the sandbox's metrics (not built yet).
import { h, replace } from "../../dom.js";

export function render(el) {
    replace(el, h("p", { class: "hint" }, "the sandbox's metrics: coming soon."));
}
