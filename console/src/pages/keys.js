// keys.js: API keys (admin) (not built yet).
import { h, replace } from "../dom.js";

export function render(el) {
    replace(el, h("p", { class: "hint" }, "API keys (admin): coming soon."));
}
