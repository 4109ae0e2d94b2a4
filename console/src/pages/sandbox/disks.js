// disks.js: the sandbox's disks (not built yet).
import { h, replace } from "../../dom.js";

export function render(el) {
    replace(el, h("p", { class: "hint" }, "the sandbox's disks: coming soon."));
}
