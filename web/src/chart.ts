// SPDX-License-Identifier: Apache-2.0
// Time-series charts (uPlot, on a canvas): several series over a range, a
// forecast line with its 95 % band, and a threshold. Series with more points
// than the chart has pixels are thinned to each pixel column's first,
// minimum, maximum and last point (M4), which draws the same picture.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Line {
  label: string;
  points: [number, number | null][]; // [ms, value]
  dash?: boolean;
}

export interface ChartSpec {
  title: string;
  unit: string;
  lines: Line[];
  band?: [number, number, number, number][]; // [ms, fitted, lower, upper]
  threshold?: number;
  width: number;
  height?: number;
  format: (v: number | null) => string;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];

// M4 thinning: per pixel column, the first, lowest, highest and last point.
export function thin(points: [number, number | null][], columns: number): [number, number | null][] {
  if (points.length <= columns * 4 || points.length < 2) return points;
  const t0 = points[0][0];
  const span = points[points.length - 1][0] - t0 || 1;
  const out: [number, number | null][] = [];
  let col = -1;
  let first: [number, number | null] | null = null;
  let lo: [number, number | null] | null = null;
  let hi: [number, number | null] | null = null;
  let last: [number, number | null] | null = null;
  const flush = () => {
    if (!first) return;
    const picked = [first, lo, hi, last].filter((p): p is [number, number | null] => p !== null);
    picked.sort((a, b) => a[0] - b[0]);
    for (const p of picked) if (out.length === 0 || out[out.length - 1] !== p) out.push(p);
  };
  for (const p of points) {
    const c = Math.min(columns - 1, Math.floor(((p[0] - t0) / span) * columns));
    if (c !== col) {
      flush();
      col = c;
      first = lo = hi = last = p;
      continue;
    }
    last = p;
    if (p[1] !== null && (lo![1] === null || p[1] < lo![1]!)) lo = p;
    if (p[1] !== null && (hi![1] === null || p[1] > hi![1]!)) hi = p;
  }
  flush();
  return out;
}

// Aligns series on one time axis (uPlot's data layout), in seconds.
function align(lines: [number, number | null][][]): uPlot.AlignedData {
  const times = new Set<number>();
  for (const l of lines) for (const p of l) times.add(p[0]);
  const xs = Array.from(times).sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const data: (number | null)[][] = [xs.map((t) => t / 1000)];
  for (const l of lines) {
    const ys: (number | null)[] = new Array(xs.length).fill(null);
    for (const p of l) ys[index.get(p[0])!] = p[1];
    data.push(ys);
  }
  return data as uPlot.AlignedData;
}

export function chart(el: HTMLElement, spec: ChartSpec): uPlot {
  const columns = Math.max(100, spec.width);
  const lines = spec.lines.map((l) => thin(l.points, columns));
  const all = [...lines];
  const series: uPlot.Series[] = [{}];
  spec.lines.forEach((l, i) =>
    series.push({
      label: l.label,
      stroke: COLORS[i % COLORS.length],
      width: 1.5,
      spanGaps: true,
      value: (_u, v) => spec.format(v),
    }),
  );
  const bands: uPlot.Band[] = [];
  if (spec.band && spec.band.length > 1) {
    const b = spec.band;
    all.push(b.map((p) => [p[0], p[1]]));
    all.push(b.map((p) => [p[0], p[3]]));
    all.push(b.map((p) => [p[0], p[2]]));
    const fitted = series.length;
    series.push({ label: "forecast", stroke: "#444", dash: [6, 4], width: 1.5, spanGaps: true, value: (_u, v) => spec.format(v) });
    series.push({ label: "95 % upper", stroke: "rgba(255,127,14,0.6)", width: 1, spanGaps: true, value: (_u, v) => spec.format(v) });
    series.push({ label: "95 % lower", stroke: "rgba(255,127,14,0.6)", width: 1, spanGaps: true, value: (_u, v) => spec.format(v) });
    bands.push({ series: [fitted + 1, fitted + 2], fill: "rgba(255,127,14,0.15)" });
  }
  if (spec.threshold !== undefined) {
    const xs = all.flat().map((p) => p[0]);
    if (xs.length) {
      const lo = Math.min(...xs);
      const hi = Math.max(...xs);
      all.push([
        [lo, spec.threshold],
        [hi, spec.threshold],
      ]);
      series.push({ label: "threshold", stroke: "#b00", dash: [2, 3], width: 1, spanGaps: true, value: (_u, v) => spec.format(v) });
    }
  }
  // The y scale holds the data and the threshold; a band that widens far
  // beyond them is clipped rather than squashing the data into a line.
  const ys = lines.flat().map((p) => p[1]).filter((v): v is number => v !== null && Number.isFinite(v));
  if (spec.threshold !== undefined) ys.push(spec.threshold);
  let yMin = ys.length ? Math.min(...ys) : 0;
  let yMax = ys.length ? Math.max(...ys) : 1;
  if (spec.unit === "1") yMin = Math.min(0, yMin);
  const pad = (yMax - yMin) * 0.1 || Math.abs(yMax) * 0.1 || 1;
  yMin -= yMin === 0 ? 0 : pad;
  yMax += pad;
  const opts: uPlot.Options = {
    title: spec.title,
    width: spec.width,
    height: spec.height ?? 240,
    series,
    bands,
    axes: [{}, { values: (_u, ticks) => ticks.map((t) => spec.format(t)), size: 80 }],
    scales: { x: { time: true }, y: { range: () => [yMin, yMax] } },
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
  };
  return new uPlot(opts, align(all), el);
}
