// The report's charts, drawn as inline SVG: grouped bars (a value per series in each group)
// and a histogram built on them. Colours come from style.css (.s0 .. .s5), so the page needs
// no inline styles.

const NS = "http://www.w3.org/2000/svg";
let chartCount = 0;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  for (const child of children) {
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/**
 * The top of a value axis and its tick count: the smallest 1, 2, 2.5 or 5 times a power of ten
 * at or above `value` (no 2.5 for counts, whose ticks stay whole numbers).
 */
export function axis(value, whole = false) {
  if (!(value > 0)) return { top: whole ? 4 : 1, ticks: 4 };
  const power = 10 ** Math.floor(Math.log10(value));
  const steps = whole && power === 1 ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
  const top = steps.find((step) => step * power >= value) * power;
  if (whole && top <= 5) return { top, ticks: top };
  return { top, ticks: whole && top % 4 ? 5 : 4 };
}

/**
 * A grouped bar chart: `groups` is [{label, values: [a number per series]}], `series` the
 * series' names. Each bar is a rect.bar carrying data-series, data-group and data-value, with
 * a <title> for its tooltip; the chart is an img labelled by its title and description.
 */
export function groupedBars({ title, description, groups, series, format = String,
  whole = false, width = 440, height = 240 }) {
  const id = `chart-${++chartCount}`;
  const margin = { top: 12, right: 8, bottom: 30, left: 52 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const { top: max, ticks } = axis(Math.max(0, ...groups.flatMap((g) => g.values)), whole);
  const root = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-labelledby": `${id}-title ${id}-desc`,
    preserveAspectRatio: "xMidYMid meet",
  });
  root.append(svg("title", { id: `${id}-title` }, title));
  root.append(svg("desc", { id: `${id}-desc` }, description));

  const plot = svg("g", { transform: `translate(${margin.left},${margin.top})` });
  for (let i = 0; i <= ticks; i++) {
    const value = (max * i) / ticks;
    const y = plotH - (plotH * i) / ticks;
    plot.append(svg("line", { class: "grid", x1: 0, x2: plotW, y1: y, y2: y }));
    plot.append(
      svg("text", { class: "tick", x: -8, y: y + 4, "text-anchor": "end" }, format(value)),
    );
  }

  const band = groups.length ? plotW / groups.length : plotW;
  const barW = (band * 0.8) / Math.max(1, series.length);
  const every = Math.max(1, Math.ceil(groups.length / 8)); // at most 8 labels
  groups.forEach((group, g) => {
    const x0 = g * band + band * 0.1;
    group.values.forEach((value, s) => {
      const h = (Math.max(0, value) / max) * plotH;
      const bar = svg("rect", {
        class: `bar s${s % 6}`,
        x: (x0 + s * barW).toFixed(2),
        y: (plotH - h).toFixed(2),
        width: Math.max(1, barW - 2).toFixed(2),
        height: h.toFixed(2),
        "data-series": series[s],
        "data-group": group.label,
        "data-value": value,
      });
      bar.append(svg("title", {}, `${group.label} · ${series[s]}: ${format(value)}`));
      plot.append(bar);
    });
    if (g % every === 0) {
      plot.append(
        svg(
          "text",
          { class: "tick", x: (g * band + band / 2).toFixed(2), y: plotH + 18, "text-anchor": "middle" },
          group.label,
        ),
      );
    }
  });
  plot.append(svg("line", { class: "axis", x1: 0, x2: plotW, y1: plotH, y2: plotH }));
  root.append(plot);
  return root;
}

/** A legend for `series` (HTML), its swatches matching the bars' colours. */
export function legend(series) {
  const list = document.createElement("ul");
  list.className = "legend";
  series.forEach((name, s) => {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch s${s % 6}`;
    swatch.setAttribute("aria-hidden", "true");
    item.append(swatch, document.createTextNode(name));
    list.append(item);
  });
  return list;
}

/**
 * Histogram groups of `values` (days): bins of 1, 2, 7, 14 or 30 days, the smallest giving at
 * most 12 bins, and at least 7 bins shown so one busy bin does not fill the chart.
 */
export function dayBins(values) {
  const top = Math.max(0, ...values);
  const width = [1, 2, 7, 14, 30].find((w) => top / w < 12) ?? Math.ceil(top / 12);
  const count = Math.max(7, Math.floor(top / width) + 1);
  const counts = new Array(count).fill(0);
  for (const v of values) counts[Math.min(count - 1, Math.floor(Math.max(0, v) / width))] += 1;
  return counts.map((n, i) => ({ label: `${i * width}–${(i + 1) * width} d`, values: [n] }));
}
