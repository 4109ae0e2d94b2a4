// disks.js: S3 disks (not built yet).
import { h, replace } from "../dom.js";

export function render(el) {
    replace(el, h("p", { class: "hint" }, "S3 disks: coming soon."));
}
