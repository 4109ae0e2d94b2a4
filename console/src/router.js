// router.js: hash routes (#/sandboxes/sbx_…/terminal), so the server serves one page and
// every URL can be bookmarked. A route is a pattern with :params; its page is a module whose
// render(main, params) draws into <main> and may return a cleanup function (stop polls, close
// sockets), called before the next page draws. When render() has finished (it may be async)
// <main data-route="/the/route"> says so: the browser tests wait for it.
import { clear, h } from "./dom.js";

let table = [];
let current = null; // { cleanup, seq }
let seq = 0;

// routes: [[pattern, module], …]; the first match wins.
export function setRoutes(routes) {
    table = routes.map(([pattern, page]) => {
        const names = [];
        const re = new RegExp(`^${pattern.replace(/:[a-z]+/g, (m) => {
            names.push(m.slice(1));
            return "([^/]+)";
        })}$`);
        return { re, names, page };
    });
}

export function currentPath() {
    const p = location.hash.replace(/^#/, "");
    return p.startsWith("/") ? p : "/";
}

export function navigate(path) {
    if (currentPath() === path) render();
    else location.hash = `#${path}`;
}

// <a href="#path">children</a>
export function link(path, ...children) {
    return h("a", { href: `#${path}` }, ...children);
}

// Draws the page of the current hash into main; fallback: the page when nothing matches.
export async function render(main, fallback) {
    main = main || document.querySelector("main");
    const path = currentPath();
    if (current?.cleanup) {
        try { current.cleanup(); } catch (e) { console.error(e); }
    }
    const mine = ++seq;
    current = { cleanup: null, seq: mine };
    delete main.dataset.route;
    clear(main);
    let hit = null;
    let params = {};
    for (const r of table) {
        const m = r.re.exec(path);
        if (m) {
            hit = r;
            r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
            break;
        }
    }
    const page = hit ? hit.page : fallback;
    const cleanup = await page.render(main, params);
    if (mine !== seq) { // another navigation started while this page loaded
        if (typeof cleanup === "function") cleanup();
        return;
    }
    current.cleanup = typeof cleanup === "function" ? cleanup : null;
    main.dataset.route = path;
}
