// SPDX-License-Identifier: Apache-2.0
// Impact explorer, for change managers: pick a CI, see which CIs and
// services fail or degrade with it, their error budgets, open events and
// changes already planned, as a graph and a list; record a change for a
// window from here.
import { api, may, qs, type Ci, type CiList, type Incident } from "../api";
import { badge, h, link, table, time } from "../dom";
import { navigate } from "../nav";

interface ImpactAnswer {
  ci_id: string;
  services: {
    service: string;
    verdict: string;
    criticality: string;
    sla: { target_percent: number; error_budget_left_seconds: number | null } | null;
    path: string[];
    open_events: { id: string; summary: string }[];
    changes: { id: string; reference: string; start: string; end: string; description: string }[];
  }[];
  cis_affected: number;
  cis: { id: string; depth: number; via: string }[];
  truncated: boolean;
}

export async function impactPage(main: HTMLElement, _p: Record<string, string>, query: URLSearchParams): Promise<void> {
  const ciId = query.get("ci") ?? "";
  const pick = h("input", { type: "search", id: "impact-ci", list: "impact-cis", placeholder: "CI name or id", value: ciId, size: 40 });
  const options = h("datalist", { id: "impact-cis" });
  pick.addEventListener("input", () => {
    const v = pick.value.trim();
    if (v.length < 1) return;
    void api<CiList>(`/api/v1/cis${qs({ prefix: v, limit: 20 })}`).then((l) => {
      options.replaceChildren(...l.items.map((c) => h("option", { value: c.id }, `${c.name} (${c.type})`)));
    });
  });
  const form = h("form", { class: "filters" }, h("label", { for: "impact-ci" }, "CI "), pick, options, h("button", { type: "submit" }, "Analyse"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void navigate(`/ui/impact${qs({ ci: pick.value.trim() })}`);
  });
  main.append(h("h1", {}, "Impact explorer"), form);
  if (!ciId) {
    main.append(h("p", {}, "Pick a CI: the analysis shows what fails or degrades if it fails or is taken down for a change."));
    return;
  }
  const [ci, impact, active] = await Promise.all([
    api<Ci>(`/api/v1/cis/${encodeURIComponent(ciId)}`),
    api<ImpactAnswer>(`/api/v1/impact/${encodeURIComponent(ciId)}`),
    api<{ items: Incident[] }>(`/api/v1/incidents${qs({ state: "active", limit: 10000 })}`),
  ]);
  // Open incidents on the CI, on what fails with it, and on the services.
  const touched = new Set([ci.id, ...impact.cis.map((c) => c.id), ...impact.services.map((s) => `service:${s.service}`)]);
  const incidents = active.items.filter((i) => touched.has(i.subject));
  main.append(
    h("h2", {}, "If ", link(`/ui/ci/${encodeURIComponent(ci.id)}`, ci.name), " fails"),
    h("p", { id: "impact-summary" }, `${impact.services.length} service(s) reached, ${impact.cis_affected} CI(s) fail with it${impact.truncated ? " (list truncated)" : ""}.`),
  );
  const graphBox = h("div", { class: "graph", id: "impact-graph" });
  main.append(graphBox);
  main.append(
    impact.services.length === 0 ? h("p", {}, "No service stands on it.") :
    table(["Service", "Verdict", "Criticality", "SLA", "Error budget left", "Open events", "Changes on the way"], impact.services.map((s) => [
      link(`/ui/services/${encodeURIComponent(s.service)}`, s.service), badge(s.verdict), s.criticality,
      s.sla ? `${s.sla.target_percent} %` : "—",
      s.sla && s.sla.error_budget_left_seconds !== null ? `${Math.round(s.sla.error_budget_left_seconds / 60)} min` : "—",
      s.open_events.map((e) => h("div", {}, e.summary)),
      s.changes.map((c) => h("div", {}, `${c.reference}: ${time(c.start)} – ${time(c.end)}`)),
    ]), { class: "grid", id: "impact-services" }),
    h("h3", {}, "Open incidents on the way"),
    incidents.length === 0 ? h("p", {}, "None.") :
      table(["Incident", "Priority", "State", "Subject", "Summary"], incidents.map((i) => [
        link(`/ui/incidents/${encodeURIComponent(i.id)}`, i.id), badge(`P${i.priority}`), badge(i.state), i.subject, i.summary]), { class: "grid", id: "impact-incidents" }),
    impact.cis.length ? h("details", {}, h("summary", {}, `CIs that fail with it (${impact.cis_affected})`),
      table(["CI", "Depth", "Via"], impact.cis.map((c) => [link(`/ui/ci/${encodeURIComponent(c.id)}`, c.id), String(c.depth), c.via]), { class: "grid" })) : "",
  );
  void drawGraph(graphBox, ci, impact);
  if (may("write-changes")) main.append(changeForm(ci));
}

async function drawGraph(box: HTMLElement, ci: Ci, impact: ImpactAnswer): Promise<void> {
  const { default: cytoscape } = await import("cytoscape");
  const nodes = new Map<string, { label: string; kind: string }>([[ci.id, { label: ci.name, kind: "origin" }]]);
  const edges = new Set<string>();
  for (const c of impact.cis) {
    nodes.set(c.id, { label: c.id, kind: "ci" });
    if (!nodes.has(c.via)) nodes.set(c.via, { label: c.via, kind: "ci" });
    edges.add(`${c.via}\u0000${c.id}`);
  }
  for (const s of impact.services) {
    for (const n of s.path) if (!nodes.has(n)) nodes.set(n, { label: n, kind: n.startsWith("service:") ? "service" : "ci" });
    const last = s.path[s.path.length - 1];
    nodes.set(last, { label: s.service, kind: `service-${s.verdict}` });
    for (let i = 1; i < s.path.length; i++) edges.add(`${s.path[i - 1]}\u0000${s.path[i]}`);
  }
  const cy = cytoscape({
    container: box,
    elements: [
      ...[...nodes].map(([id, n]) => ({ data: { id, label: n.label, kind: n.kind } })),
      ...[...edges].map((e) => {
        const [source, target] = e.split("\u0000");
        return { data: { id: e, source, target } };
      }),
    ],
    style: [
      { selector: "node", style: { label: "data(label)", "font-size": 10, "background-color": "#8aa", width: 14, height: 14 } },
      { selector: 'node[kind = "origin"]', style: { "background-color": "#1f77b4", width: 20, height: 20 } },
      { selector: 'node[kind = "service-down"]', style: { "background-color": "#d62728", shape: "round-rectangle" } },
      { selector: 'node[kind = "service-degraded"]', style: { "background-color": "#ff7f0e", shape: "round-rectangle" } },
      { selector: 'node[kind = "service-unaffected"]', style: { "background-color": "#2ca02c", shape: "round-rectangle" } },
      { selector: "edge", style: { width: 1, "line-color": "#999", "target-arrow-color": "#999", "target-arrow-shape": "triangle", "curve-style": "bezier" } },
    ],
    layout: { name: "breadthfirst", directed: true, roots: [ci.id], spacingFactor: 1.1 },
    userZoomingEnabled: true,
  });
  box.dataset.nodes = String(cy.nodes().length);
}

// A change record for a window: POST /api/v1/changes.
function changeForm(ci: Ci): HTMLElement {
  const now = new Date(Date.now() + 3600e3);
  const local = (d: Date) => d.toISOString().slice(0, 16);
  const ref = h("input", { id: "change-reference", required: true, placeholder: "CHG0042", size: 16 });
  const start = h("input", { type: "datetime-local", id: "change-start", required: true, value: local(now) });
  const end = h("input", { type: "datetime-local", id: "change-end", required: true, value: local(new Date(now.getTime() + 2 * 3600e3)) });
  const desc = h("input", { id: "change-description", size: 50, placeholder: "what is done" });
  const status = h("p", { role: "status", id: "change-status" });
  const form = h("form", { class: "change", id: "change-form" },
    h("h2", {}, "Record a change to ", ci.name),
    h("label", {}, "Reference ", ref), " ", h("label", {}, "from (UTC) ", start), " ", h("label", {}, "to ", end), " ",
    h("label", {}, "Description ", desc), " ", h("button", { type: "submit" }, "Create change"), status);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const iso = (v: string) => new Date(`${v}:00Z`).toISOString();
    api<{ id: string; reference: string }>("/api/v1/changes", {
      method: "POST",
      json: { reference: ref.value.trim(), cis: [ci.id], start: iso(start.value), end: iso(end.value), description: desc.value, origin: "user" },
    })
      .then((c) => {
        status.className = "ok";
        status.textContent = `Change ${c.reference} recorded (${c.id}).`;
      })
      .catch((err: Error) => {
        status.className = "error";
        status.textContent = err.message;
      });
  });
  return form;
}
