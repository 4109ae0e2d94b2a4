// main.js: the console's entry: the frame (header, navigation, <main>) and the route table.
// Every page is a module of pages/ with render(main, params) (router.js). Signed out, every
// route shows the sign-in page.
import { h, replace } from "./dom.js";
import { render, setRoutes, currentPath } from "./router.js";
import { apiKey, who, isAdmin, signOut } from "./session.js";
import * as signin from "./pages/signin.js";
import * as sandboxes from "./pages/sandboxes.js";
import * as sandboxCreate from "./pages/sandbox-create.js";
import * as sandbox from "./pages/sandbox.js";
import * as templates from "./pages/templates.js";
import * as template from "./pages/template.js";
import * as networks from "./pages/networks.js";
import * as disks from "./pages/disks.js";
import * as keys from "./pages/keys.js";
import * as hosts from "./pages/hosts.js";

setRoutes([
    ["/signin", signin],
    ["/sandboxes", sandboxes],
    ["/sandboxes/new", sandboxCreate],
    ["/sandboxes/:id", sandbox],
    ["/sandboxes/:id/:tab", sandbox],
    ["/templates", templates],
    ["/templates/:ref", template],
    ["/networks", networks],
    ["/disks", disks],
    ["/keys", keys],
    ["/hosts", hosts],
]);

const NAV = [
    ["/sandboxes", "Sandboxes"],
    ["/templates", "Templates"],
    ["/networks", "Networks"],
    ["/disks", "Disks"],
    ["/keys", "API keys", true],
    ["/hosts", "Hosts", true],
];

const root = document.getElementById("app");
const bar = h("header", { class: "app-bar" });
const main = h("main", { id: "main", tabindex: "-1" });
replace(root, h("a", { href: "#main", class: "skip" }, "Skip to content"), bar, main);

function drawBar(path) {
    const w = who();
    if (!apiKey() || !w) {
        replace(bar, h("span", { class: "brand" }, "hearth"));
        return;
    }
    const items = NAV.filter(([, , admin]) => !admin || isAdmin()).map(([p, label]) =>
        h("li", null, h("a", { href: `#${p}`, "aria-current": path.startsWith(p) ? "page" : undefined }, label)));
    const out = h("button", { type: "button", class: "btn btn-quiet", id: "signout", on: { click: () => signOut() } },
        "Sign out");
    replace(bar,
        h("a", { class: "brand", href: "#/sandboxes" }, "hearth"),
        h("nav", { class: "app-nav", "aria-label": "Main" }, h("ul", null, items)),
        h("div", { class: "who" }, h("span", { class: "user", title: "Signed in as" }, w.user_id,
            w.admin ? h("span", { class: "badge" }, "admin") : null), out));
}

async function route() {
    let path = currentPath();
    if (!apiKey() && path !== "/signin") {
        location.replace("#/signin");
        path = "/signin";
    } else if (path === "/") {
        location.replace("#/sandboxes");
        path = "/sandboxes";
    }
    drawBar(path);
    await render(main, notFound);
    if (document.activeElement === document.body) main.focus({ preventScroll: true });
}

const notFound = {
    render(m) {
        replace(m, h("h1", null, "Not found"), h("p", null, "This page does not exist. ",
            h("a", { href: "#/sandboxes" }, "Back to the sandboxes")));
    },
};

window.addEventListener("hashchange", route);
route();
