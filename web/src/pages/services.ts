// SPDX-License-Identifier: Apache-2.0
// Services: each with its SLA target and this period's figures; one
// service with its error budget burned over the period (a chart), its
// members and their states, the redundancy of its groups and what it stands
// on (a graph).
import { api, qs } from "../api";
import { chart } from "../chart";
import { badge, h, link, table } from "../dom";

interface Sla {
  service: string;
  period: string;
  start: string;
  end: string;
  start_ms: number;
  end_ms: number;
  target_percent: number;
  achieved_percent: number | null;
  allowed_downtime_seconds: number;
  downtime_seconds: number;
  error_budget_left_seconds: number;
  breached: boolean;
  closed: boolean;
}
interface Service {
  name: string;
  owner: string;
  criticality: string;
  description: string;
  sla: { target_percent: number; period: string } | null;
  groups: { name: string; members: string[]; redundancy: { rule: string; min?: number } }[];
  member_cis?: { id: string; type: string; name: string; state: string }[];
  unresolved?: string[];
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? "—" : `${v.toFixed(3)} %`);
const minutes = (s: number) => `${(s / 60).toFixed(1)} min`;

export async function servicesPage(main: HTMLElement): Promise<void> {
  const [services, slas] = await Promise.all([
    api<{ items: Service[] }>("/api/v1/services"),
    api<{ items: Sla[] }>("/api/v1/slas"),
  ]);
  const sla = new Map(slas.items.map((s) => [s.service, s]));
  main.append(
    h("h1", {}, "Services"),
    table(["Service", "Owner", "Criticality", "SLA target", "Achieved this period", "Error budget left"], services.items.map((s) => {
      const f = sla.get(s.name);
      return [link(`/ui/services/${encodeURIComponent(s.name)}`, s.name), s.owner, s.criticality, s.sla ? `${s.sla.target_percent} %` : "—",
        f ? pct(f.achieved_percent) : "—", f ? [minutes(f.error_budget_left_seconds), f.breached ? [" ", badge("breached")] : ""] : "—"];
    }), { class: "grid", id: "services" }),
  );
}

export async function servicePage(main: HTMLElement, p: Record<string, string>): Promise<void> {
  const name = p.name;
  const svc = await api<Service>(`/api/v1/services/${encodeURIComponent(name)}`);
  main.append(h("h1", {}, svc.name, " ", badge(svc.criticality)), h("p", { class: "meta" }, `${svc.description} · owner ${svc.owner}`));
  if (svc.sla) {
    const f = await api<Sla>(`/api/v1/slas/${encodeURIComponent(name)}/report`);
    main.append(
      h("h2", {}, `SLA, ${f.period}`),
      table(["Target", "Achieved", "Downtime", "Allowed", "Error budget left", ""], [[`${f.target_percent} %`, pct(f.achieved_percent),
        minutes(f.downtime_seconds), minutes(f.allowed_downtime_seconds), minutes(f.error_budget_left_seconds), f.breached ? badge("breached") : badge("within", "ok")]],
        { class: "grid", id: "sla" }),
    );
    // The burn: the budget left after each stretch of downtime, from the
    // service's availability timeline since the period began.
    const avail = await api<{ intervals: { start: string; end: string; state: string }[] }>(
      `/api/v1/availability/service:${encodeURIComponent(name)}${qs({ from: f.start_ms, to: Math.min(Date.now(), f.end_ms) })}`);
    let left = f.allowed_downtime_seconds;
    const points: [number, number | null][] = [[f.start_ms, left]];
    for (const i of avail.intervals) {
      const s = new Date(i.start).getTime();
      const e = new Date(i.end).getTime();
      points.push([s, left]);
      if (i.state === "down") left -= (e - s) / 1000;
      points.push([e, left]);
    }
    const box = h("div", { class: "chart", id: "burn" });
    main.append(box);
    chart(box, { title: "Error budget left", unit: "s", width: Math.min(1000, main.clientWidth - 20), lines: [{ label: "budget left", points }],
      threshold: 0, format: (v) => (v === null ? "—" : minutes(v)) });
  }
  // Now: the service's own availability state (the verdict of its groups'
  // redundancy), and each member's, from the last hour's timelines.
  const lastState = async (subject: string) => {
    const a = await api<{ intervals: { state: string }[] }>(`/api/v1/availability/${encodeURIComponent(subject)}${qs({ from: Date.now() - 3600e3 })}`).catch(() => null);
    return a && a.intervals.length ? a.intervals[a.intervals.length - 1].state : "unknown";
  };
  const byName = new Map((svc.member_cis ?? []).map((c) => [c.name, c] as const));
  const members = [...new Set(svc.groups.flatMap((g) => g.members))];
  const now = new Map(await Promise.all(members.map(async (m) => {
    const c = byName.get(m) ?? (svc.member_cis ?? []).find((x) => x.id === m);
    return [m, await lastState(c ? c.id : m)] as const;
  })));
  const verdict = await lastState(`service:${name}`);
  main.append(
    h("h2", {}, "Members"),
    h("p", { id: "verdict" }, "Now: ", badge(verdict), verdict === "degraded" ? " (a group runs on less redundancy than it has)" : ""),
    table(["Group", "Redundancy", "Members (availability now)"], svc.groups.map((g) => [g.name, g.redundancy.rule + (g.redundancy.min ? ` (at least ${g.redundancy.min})` : ""),
      g.members.map((m) => {
        const c = byName.get(m) ?? (svc.member_cis ?? []).find((x) => x.id === m);
        const target = c ? link(`/ui/ci/${encodeURIComponent(c.id)}`, c.name) : m.startsWith("service:") ? link(`/ui/services/${encodeURIComponent(m.slice(8))}`, m) : m;
        return h("div", {}, target, " ", badge(now.get(m) ?? "unknown"));
      })]), { class: "grid", id: "members" }),
    (svc.unresolved ?? []).length ? h("p", { class: "error" }, `Members that name no single CI: ${svc.unresolved!.join(", ")}`) : "",
  );
  const deps = await api<{ dependencies: { depth: number; node: string; via: string }[] }>(`/api/v1/services/${encodeURIComponent(name)}/dependencies`);
  const graph = h("div", { class: "graph", id: "dependency-graph" });
  main.append(h("h2", {}, "Stands on"), graph);
  const { default: cytoscape } = await import("cytoscape");
  const root = `service:${name}`;
  const nodes = new Set([root, ...deps.dependencies.flatMap((d) => [d.node, d.via])]);
  cytoscape({
    container: graph,
    elements: [...[...nodes].map((id) => ({ data: { id, label: id === root ? name : id } })),
      ...deps.dependencies.map((d) => ({ data: { id: `${d.via}>${d.node}`, source: d.via, target: d.node } }))],
    style: [{ selector: "node", style: { label: "data(label)", "font-size": 10, "background-color": "#8aa", width: 14, height: 14 } },
      { selector: "edge", style: { width: 1, "line-color": "#999", "target-arrow-shape": "triangle", "target-arrow-color": "#999", "curve-style": "bezier" } }],
    layout: { name: "breadthfirst", directed: true, roots: [root] },
  });
  graph.dataset.nodes = String(nodes.size);
}
