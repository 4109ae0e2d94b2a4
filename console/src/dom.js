// dom.js: the one way the console makes DOM. Text goes in as text nodes, never as HTML: no
// module may use innerHTML, outerHTML, insertAdjacentHTML or document.write
// (tests/lint/test_console.sh checks), so names, file names and output from sandboxes can
// never become markup.

// h(tag, props, ...children): an element. props: attributes by name ("class", "for",
// "aria-label", "data-x", …; true sets an empty attribute, false/null/undefined skips it),
// "value"/"checked"/"disabled"/"selected" set as properties, "on" an object of event listeners.
// Children: strings and numbers (as text), nodes, arrays of those; null/undefined/false skipped.
export function h(tag, props, ...children) {
    const el = document.createElement(tag);
    if (props) {
        for (const [k, v] of Object.entries(props)) {
            if (v === undefined || v === null || v === false) continue;
            if (k === "on") {
                for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
            } else if (k === "value" || k === "checked" || k === "disabled" || k === "selected") {
                el[k] = v;
            } else if (/^on/i.test(k)) {
                throw new Error(`h(): event attribute ${k}: use props.on`);
            } else {
                el.setAttribute(k, v === true ? "" : String(v));
            }
        }
    }
    append(el, children);
    return el;
}

// Appends children (same rules as h()) to el; returns el.
export function append(el, children) {
    for (const c of children) {
        if (c === null || c === undefined || c === false) continue;
        if (Array.isArray(c)) append(el, c);
        else if (c instanceof Node) el.appendChild(c);
        else el.appendChild(document.createTextNode(String(c)));
    }
    return el;
}

// Removes every child of el; returns el.
export function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
}

// Replaces el's children; returns el.
export function replace(el, ...children) {
    return append(clear(el), children);
}
