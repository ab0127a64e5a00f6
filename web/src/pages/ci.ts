// SPDX-License-Identifier: Apache-2.0
// One CI: attributes, inventory sections (a failed one shown as failed,
// with why), relationships, the change history (as it was at a time, and
// what changed between two), and capacity charts over a chosen range with
// the forecast line, its 95 % band and the threshold.
import { api, qs, type Ci, type ForecastItem, type SeriesAnswer } from "../api";
import { chart } from "../chart";
import { badge, h, labels, link, table, time, valueIn } from "../dom";
import { navigate } from "../nav";

interface Section { name: string; state: string; reason?: string; updated: string; data: unknown }
interface Relationship { from: string; type: string; to: string; origin: string; created: string }
interface HistoryAnswer {
  at: string;
  existed: boolean;
  attributes: Record<string, unknown>;
  since?: string;
  attributes_since?: Record<string, unknown>;
  changes?: { time: string; kind: string; key: string; old: unknown; new: unknown; origin: string; actor: string | null; change_id: string | null; unauthorized: boolean }[];
}

const RANGES: Record<string, number> = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3 };
// Step per range, so a chart holds a few hundred points; "raw" asks every sample.
const STEPS: Record<string, string> = { "1h": "1m", "24h": "5m", "7d": "1h", "30d": "1h" };
// How far ahead the forecast line and its band are drawn: a third of the range.
const PREDICT: Record<string, string> = { "1h": "20m", "24h": "8h", "7d": "56h", "30d": "10d" };

interface Group { title: string; metric: string; filter: Record<string, string>; exact?: boolean; threshold?: number; forecast?: boolean }
const GROUPS: Group[] = [
  { title: "CPU", metric: "system.cpu.utilization", filter: {}, exact: true, threshold: 0.9, forecast: true },
  { title: "Memory", metric: "system.memory.utilization", filter: { "attr.state": "used" }, threshold: 0.95, forecast: true },
  { title: "Filesystems", metric: "system.filesystem.utilization", filter: {}, threshold: 0.9, forecast: true },
  { title: "Disks", metric: "system.disk.utilization", filter: {} },
  { title: "Network", metric: "system.network.io", filter: {} },
];

export async function ciPage(main: HTMLElement, p: Record<string, string>, query: URLSearchParams): Promise<void> {
  const id = p.id;
  const range = RANGES[query.get("range") ?? ""] ? query.get("range")! : "24h";
  const agg = ["avg", "min", "max", "p95", "raw"].includes(query.get("agg") ?? "") ? query.get("agg")! : "avg";
  const self = (changes: Record<string, string>) => {
    const next = new URLSearchParams({ range, agg, ...changes });
    void navigate(`/ui/ci/${encodeURIComponent(id)}?${next}`, true);
  };
  const [ci, inventory, rels] = await Promise.all([
    api<Ci>(`/api/v1/cis/${encodeURIComponent(id)}`),
    api<{ sections: Section[] }>(`/api/v1/cis/${encodeURIComponent(id)}/inventory`),
    api<{ items: Relationship[] }>(`/api/v1/cis/${encodeURIComponent(id)}/relationships`),
  ]);
  main.append(
    h("h1", {}, ci.name, " ", badge(ci.state)),
    h("p", { class: "meta" }, `${ci.type} · ${ci.id} · source ${ci.source} · first seen ${time(ci.first_seen)} · last seen ${time(ci.last_seen)} · `,
      link(`/ui/impact?ci=${encodeURIComponent(ci.id)}`, "impact of a change")),
  );

  // Capacity charts first: what a planner comes for.
  const rangeSel = h("select", { id: "range" }, ...Object.keys(RANGES).map((r) => h("option", { value: r, selected: r === range }, r)));
  const aggSel = h("select", { id: "agg" }, ...["avg", "min", "max", "p95", "raw"].map((a) => h("option", { value: a, selected: a === agg }, a === "raw" ? "every sample" : a)));
  rangeSel.addEventListener("change", () => self({ range: rangeSel.value }));
  aggSel.addEventListener("change", () => self({ agg: aggSel.value }));
  const charts = h("div", { class: "charts", id: "charts" });
  main.append(h("h2", {}, "Capacity"), h("div", { class: "filters" }, h("label", {}, "Range ", rangeSel), h("label", {}, "Points ", aggSel)), charts);
  const to = Date.now();
  const from = to - RANGES[range];
  const width = Math.min(1100, Math.max(400, main.clientWidth - 20));
  let renderMs = 0;
  await Promise.all(
    GROUPS.map(async (g) => {
      const box = h("div", { class: "chart", "data-metric": g.metric });
      charts.append(box);
      const sel = { ci: id, metric: g.metric, exact: g.exact ? "true" : undefined, ...g.filter };
      const [data, fc] = await Promise.all([
        api<SeriesAnswer>(`/api/v1/series${qs({ ...sel, from, to, ...(agg === "raw" ? { limit: 100000 } : { step: STEPS[range], agg }) })}`),
        g.forecast
          ? api<{ items: ForecastItem[] }>(`/api/v1/forecast${qs({ ...sel, window: range, threshold: g.threshold, predict: PREDICT[range], band: 60 })}`).catch(() => ({ items: [] as ForecastItem[] }))
          : Promise.resolve({ items: [] as ForecastItem[] }),
      ]);
      if (data.series.length === 0) {
        box.append(h("p", { class: "empty" }, `${g.title}: no samples in this range.`));
        return;
      }
      // The band of the series nearest its threshold (the one that matters).
      const worst = fc.items.filter((f) => f.band && f.band.length > 1).sort((a, b) => (b.fit?.value_now ?? 0) - (a.fit?.value_now ?? 0))[0];
      const unit = data.series[0].unit;
      const t0 = performance.now();
      chart(box, {
        title: g.title,
        unit,
        width,
        lines: data.series.map((s) => ({ label: labels(s.attributes) || g.metric, points: s.points })),
        band: worst?.band,
        threshold: g.threshold,
        format: (v) => valueIn(unit, v),
      });
      renderMs = Math.max(renderMs, performance.now() - t0);
      if (worst?.threshold) {
        const t = worst.threshold;
        box.append(
          h("p", { class: "forecast" },
            `Forecast (${labels(worst.attributes) || g.metric}): `,
            t.outcome === "at" ? `reaches ${valueIn(unit, t.value)} around ${time(t.at)} (95 %: ${time(t.earliest)} to ${t.latest ? time(t.latest) : "not bounded"})`
              : t.outcome === "already" ? `already past ${valueIn(unit, t.value)}`
              : t.outcome === "never" ? `does not move towards ${valueIn(unit, t.value)}`
              : "not enough data for a forecast",
            worst.fit ? ` · R² ${worst.fit.r2.toFixed(3)}` : ""),
        );
      }
    }),
  );
  charts.dataset.renderMs = renderMs.toFixed(1);

  main.append(h("h2", {}, "Attributes"),
    table(["Attribute", "Value"], Object.entries(ci.attributes ?? {}).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]), { class: "grid", id: "attributes" }));

  main.append(h("h2", {}, "Inventory"),
    table(["Section", "State", "Updated", "Contents"], inventory.sections.map((s) => [
      s.name,
      badge(s.state),
      time(s.updated),
      s.state === "failed" ? h("span", { class: "error" }, s.reason ?? "failed") : summary(s.data),
    ]), { class: "grid", id: "inventory" }));

  main.append(h("h2", {}, "Relationships"),
    rels.items.length === 0 ? h("p", {}, "None.") :
    table(["From", "Relationship", "To", "Origin", "Since"], rels.items.map((r) => [
      r.from === id ? ci.name : link(`/ui/ci/${encodeURIComponent(r.from)}`, r.from), r.type,
      r.to === id ? ci.name : link(`/ui/ci/${encodeURIComponent(r.to)}`, r.to), r.origin, time(r.created),
    ]), { class: "grid", id: "relationships" }));

  await historySection(main, id, query);
}

function summary(data: unknown): string {
  if (Array.isArray(data)) return `${data.length} item(s)`;
  if (data && typeof data === "object") return Object.entries(data as Record<string, unknown>).slice(0, 6).map(([k, v]) => `${k}: ${typeof v === "object" ? "…" : String(v)}`).join(" · ");
  return data === null || data === undefined ? "—" : String(data);
}

// The history: the attributes as they were at `at`, and with `since` the
// attributes then and every change between, as a timeline and a diff.
async function historySection(main: HTMLElement, id: string, query: URLSearchParams): Promise<void> {
  const at = query.get("at") ?? "";
  const since = query.get("since") ?? new Date(Date.now() - 30 * 86400e3).toISOString();
  const hist = await api<HistoryAnswer>(`/api/v1/cis/${encodeURIComponent(id)}/history${qs({ at, since })}`);
  const atIn = h("input", { type: "datetime-local", id: "history-at", value: at ? at.slice(0, 16) : "" });
  const sinceIn = h("input", { type: "datetime-local", id: "history-since", value: since.slice(0, 16) });
  const form = h("form", { class: "filters" }, h("label", {}, "Changes since ", sinceIn), h("label", {}, " as it was at ", atIn), h("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const next = new URLSearchParams(query);
    const iso = (v: string) => (v ? new Date(`${v}:00Z`).toISOString() : "");
    next.set("since", iso(sinceIn.value));
    if (atIn.value) next.set("at", iso(atIn.value));
    else next.delete("at");
    void navigate(`/ui/ci/${encodeURIComponent(id)}?${next}`, true);
  });
  const before = hist.attributes_since ?? {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(hist.attributes)])].sort();
  const diff = keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(hist.attributes[k]));
  main.append(
    h("h2", {}, "History"),
    form,
    h("h3", {}, `What changed from ${time(hist.since)} to ${time(hist.at)}`),
    diff.length === 0 ? h("p", {}, "Nothing.") :
      table(["Attribute", `At ${time(hist.since)}`, `At ${time(hist.at)}`], diff.map((k) => [k, show(before[k]), show(hist.attributes[k])]), { class: "grid", id: "history-diff" }),
    h("h3", {}, "Timeline"),
    h("ol", { class: "timeline", id: "history" }, ...(hist.changes ?? []).map((c) =>
      h("li", { class: c.unauthorized ? "unauthorized" : "" },
        h("time", {}, time(c.time)), " ", `${c.kind} ${c.key}: ${show(c.old)} → ${show(c.new)} by ${c.actor ?? c.origin}${c.actor ? ` (${c.origin})` : ""}`,
        c.change_id ? [" · change ", c.change_id] : "",
        c.unauthorized ? [" ", badge("unauthorised")] : ""))),
  );
}

function show(v: unknown): string {
  return v === undefined || v === null ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v);
}
