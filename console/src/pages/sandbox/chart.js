// chart.js: a time-series line chart (uPlot) for the metrics tab: a <figure> with an aria-label,
// the canvas (role="img"), and a caption the page fills with the latest values in words, since
// a canvas says nothing to a screen reader. Colours come from style.css's variables, so light
// and dark themes both read. The width follows the container (ResizeObserver). uPlot draws on a
// canvas and sets sizes through element.style (CSSOM), which the console's CSP allows; it
// injects no <style> element.
import uPlot from "uplot";
import { h, replace } from "../../dom.js";

const HEIGHT = 200;

function cssVar(name, fallback) {
    const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return v || fallback;
}

// chart(opts) -> { el, set(xs, ...ys), caption(...children), destroy() }.
// opts: id, label (the figure's aria-label, also its heading), series [{label, color: a CSS
// variable name}], fmt(value) for the y axis and the legend, min/max (fixed y range ends; null
// = from the data), window (seconds: the x axis shows the last this many up to the newest
// point; else the data's span).
export function chart(opts) {
    const plot = h("div", { class: "chart-plot", role: "img", "aria-label": opts.label });
    const cap = h("figcaption", { class: "chart-caption", id: `${opts.id}-latest` });
    const el = h("figure", { class: "chart", id: opts.id, "aria-label": opts.label },
        h("h3", null, opts.label), plot, cap);
    const fg = cssVar("--muted", "#555b66");
    const grid = cssVar("--line", "#d9dbe0");
    const fmt = opts.fmt || ((v) => String(v));
    const series = [{}].concat(opts.series.map((s) => ({
        label: s.label,
        stroke: cssVar(s.color, "#1b5fd6"),
        width: 2,
        spanGaps: false,
        value: (u, v) => (v === null || v === undefined ? "–" : fmt(v)),
    })));
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    let u = null;
    let data = [[], ...opts.series.map(() => [])];
    const width = () => Math.max(plot.clientWidth || 0, 240);
    const make = () => {
        u = new uPlot({
            width: width(),
            height: HEIGHT,
            series,
            scales: {
                // a rolling window keeps its width from the first sample on
                // (from the data: with one point, uPlot widens min and max by itself)
                x: { time: true, range: (self, min, max) => {
                    const xs = self.data[0];
                    if (!opts.window || !xs || !xs.length) return [min, max];
                    return [xs[xs.length - 1] - opts.window, xs[xs.length - 1]];
                } },
                // every metric here is 0 or more: the y axis starts at 0
                y: { range: (self, dmin, dmax) => [opts.min ?? 0, opts.max ?? (dmax > 0 ? dmax * 1.1 : 1)] },
            },
            axes: [axis, { ...axis, size: 70, values: (self, ticks) => ticks.map((v) => fmt(v)) }],
            legend: { live: true },
            cursor: { drag: { x: false, y: false } },
        }, data, plot);
    };
    // draw once the figure is in the page (it needs a width)
    // (in the next frame: resizing inside the observer's callback would notify it again)
    let frame = 0;
    let gone = false;
    const ro = new ResizeObserver(() => {
        if (frame) return;
        frame = requestAnimationFrame(() => {
            frame = 0;
            if (gone || !plot.isConnected) return;
            if (!u) make();
            else if (Math.abs(u.width - width()) > 2) u.setSize({ width: width(), height: HEIGHT });
        });
    });
    ro.observe(plot);
    return {
        el,
        set(xs, ...ys) {
            data = [xs, ...ys];
            if (u) u.setData(data);
        },
        caption(...children) {
            replace(cap, ...children);
        },
        destroy() {
            gone = true;
            ro.disconnect();
            if (frame) cancelAnimationFrame(frame);
            if (u) u.destroy();
            u = null;
        },
    };
}
