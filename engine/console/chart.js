// Horizontal bar charts as inline SVG, built element by element (no library, no markup strings).

import { s } from "./dom.js";
import { count } from "./format.js";

const ROW = 24;
const LABEL = 150;
const WIDTH = 380;
const BAR = WIDTH - LABEL - 50;

/**
 * A chart of labelled counts. `entries` is [[label, n, cssClass]]; the SVG has a title and a
 * description for screen readers, and every bar its own <title> with the exact number.
 */
export function barChart(title, entries) {
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  const most = Math.max(1, ...entries.map(([, n]) => n));
  const height = Math.max(1, entries.length) * ROW + 8;
  const id = `chart-${Math.random().toString(36).slice(2, 9)}`;
  const summary = entries.map(([label, n]) => `${label}: ${n}`).join(", ") || "nothing yet";
  const svg = s("svg", {
    class: "chart",
    viewBox: `0 0 ${WIDTH} ${height}`,
    role: "img",
    "aria-labelledby": `${id}-t ${id}-d`,
  });
  svg.append(s("title", { id: `${id}-t`, text: title }), s("desc", { id: `${id}-d`, text: summary }));
  entries.forEach(([label, n, cls], i) => {
    const y = i * ROW + 4;
    const length = Math.round((BAR * n) / most);
    const share = total ? Math.round((100 * n) / total) : 0;
    const g = s("g", {});
    g.append(
      s("title", { text: `${label}: ${n} (${share}%)` }),
      s("text", { x: LABEL - 8, y: y + 14, "text-anchor": "end", text: clip(label, 20) }),
      s("rect", { class: "track", x: LABEL, y: y + 3, width: BAR, height: 14, rx: 3 }),
      s("rect", { class: cls, x: LABEL, y: y + 3, width: Math.max(n ? 2 : 0, length), height: 14, rx: 3 }),
      s("text", { x: LABEL + BAR + 6, y: y + 14, text: count(n) }),
    );
    svg.append(g);
  });
  return svg;
}

function clip(text, most) {
  return text.length > most ? text.slice(0, most - 1) + "…" : text;
}
