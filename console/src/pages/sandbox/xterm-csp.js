// xterm-csp.js: lets xterm.js 6's DOM renderer work under the console's Content-Security-Policy
// (style-src 'self', no 'unsafe-inline'; src/daemon/api/console.c). xterm writes the rules it
// computes (cell size, theme colours, scrollbar colours) into <style> elements it makes in
// Terminal.open(), and 24-bit colours into style="" attributes of the row spans it draws; the
// browser refuses both (and reports each as a CSP violation). The same declarations are
// allowed through the CSSOM, which the CSP does not restrict, so:
// - openTerminal(term, parent) opens the terminal with each <style> xterm asks for replaced by a
//   stand-in whose text goes into a constructed stylesheet (document.adoptedStyleSheets) that
//   is dropped when xterm removes the stand-in;
// - a span's setAttribute("style", text) sets span.style.cssText = text instead (same result,
//   no inline-style parse). Only spans, only the style attribute.
// No CSP relaxation is needed; the browser test (tests/console/terminal.test.mjs) fails on
// any violation, with colours and true colour in the output.

let spansPatched = false;

function patchSpans() {
    if (spansPatched) return;
    spansPatched = true;
    const set = Element.prototype.setAttribute;
    HTMLSpanElement.prototype.setAttribute = function setAttribute(name, value) {
        if (String(name).toLowerCase() === "style") {
            this.style.cssText = String(value);
            return;
        }
        set.call(this, name, value);
    };
}

// An element that stands in for a <style>: xterm appends it, sets its textContent and removes
// it on dispose; a <template> is never rendered.
function styleStandIn(make) {
    const el = make("template");
    const sheet = new CSSStyleSheet();
    let text = "";
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    Object.defineProperty(el, "textContent", {
        get: () => text,
        set: (v) => {
            text = String(v ?? "");
            sheet.replaceSync(text);
        },
    });
    el.remove = () => {
        document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet);
        Element.prototype.remove.call(el);
    };
    return el;
}

// term.open(parent), CSP-safe (see above).
export function openTerminal(term, parent) {
    patchSpans();
    const make = Document.prototype.createElement.bind(document);
    document.createElement = (tag, opts) =>
        (String(tag).toLowerCase() === "style" ? styleStandIn(make) : make(tag, opts));
    try {
        term.open(parent);
    } finally {
        delete document.createElement;
    }
}
