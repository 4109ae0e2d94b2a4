// networks.js: private networks (not built yet).
import { h, replace } from "../dom.js";

export function render(el) {
    replace(el, h("p", { class: "hint" }, "private networks: coming soon."));
}
