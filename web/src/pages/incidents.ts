// SPDX-License-Identifier: Apache-2.0
// Incidents: the list with filters, and one incident with its timeline,
// linked incidents and the actions its state and the operator's role allow.
import { api, may, qs, type Incident } from "../api";
import { badge, h, link, table, time } from "../dom";
import { navigate } from "../nav";

export async function incidentsPage(main: HTMLElement, _p: Record<string, string>, query: URLSearchParams): Promise<void> {
  const state = query.get("state") ?? "active";
  const priority = query.get("priority") ?? "";
  const kind = query.get("kind") ?? "";
  const subject = query.get("subject") ?? "";
  const stateSel = h("select", { id: "incident-state" }, ...["active", "open", "acknowledged", "resolved", "closed", ""].map((s) => h("option", { value: s, selected: s === state }, s || "any state")));
  const prioSel = h("select", { id: "incident-priority" }, ...["", "1", "2", "3", "4", "5"].map((s) => h("option", { value: s, selected: s === priority }, s ? `P${s}` : "any priority")));
  const kindSel = h("select", { id: "incident-kind" }, ...["", "availability", "capacity", "capacity-forecast", "SLA-risk", "unauthorised-change"].map((s) => h("option", { value: s, selected: s === kind }, s || "any kind")));
  const go = () => {
    const q = qs({ state: stateSel.value, priority: prioSel.value, kind: kindSel.value, subject });
    void navigate(`/ui/incidents${q}`, true);
  };
  for (const s of [stateSel, prioSel, kindSel]) s.addEventListener("change", go);
  main.append(h("h1", {}, "Incidents"), h("div", { class: "filters" }, stateSel, prioSel, kindSel, subject ? ` subject ${subject}` : ""));
  const list = await api<{ items: Incident[] }>(`/api/v1/incidents${qs({ state, priority, kind, limit: 500 })}`);
  const items = subject ? list.items.filter((i) => i.subject === subject) : list.items;
  main.append(
    items.length === 0 ? h("p", {}, "No incident.") :
    table(["Incident", "Priority", "State", "Kind", "Summary", "Opened", "Linked to"], items.map((i) => [
      link(`/ui/incidents/${encodeURIComponent(i.id)}`, i.id), badge(`P${i.priority}`), badge(i.state), i.kind, i.summary, time(i.opened_ms),
      i.parent ? link(`/ui/incidents/${encodeURIComponent(i.parent)}`, i.parent) : "",
    ]), { class: "grid", id: "incidents" }),
  );
}

const ACTIONS: { action: string; label: string; when: string[] }[] = [
  { action: "acknowledge", label: "Acknowledge", when: ["open"] },
  { action: "resolve", label: "Resolve", when: ["open", "acknowledged"] },
  { action: "close", label: "Close", when: ["resolved"] },
  { action: "reopen", label: "Re-open", when: ["resolved", "closed"] },
];

export async function incidentPage(main: HTMLElement, p: Record<string, string>): Promise<void> {
  const inc = await api<Incident>(`/api/v1/incidents/${encodeURIComponent(p.id)}`);
  const note = h("textarea", { id: "incident-note", rows: 2, cols: 60, placeholder: "a note for the timeline" });
  const status = h("p", { class: "error", role: "alert" });
  const act = (action: string) =>
    api<Incident>(`/api/v1/incidents/${encodeURIComponent(inc.id)}/${action}`, { method: "POST", json: { text: note.value || null } })
      .then(() => navigate(`/ui/incidents/${encodeURIComponent(inc.id)}`, true))
      .catch((e: Error) => (status.textContent = e.message));
  const subjectLink = inc.subject.startsWith("service:")
    ? link(`/ui/services/${encodeURIComponent(inc.subject.slice(8))}`, inc.subject)
    : link(`/ui/ci/${encodeURIComponent(inc.subject)}`, inc.subject);
  main.append(
    h("h1", {}, inc.id, " ", badge(`P${inc.priority}`), " ", badge(inc.state, inc.state), " "),
    h("p", { class: "summary" }, inc.summary),
    h("p", { class: "meta" }, `${inc.kind} · `, subjectLink, ` · rule ${inc.rule} · opened ${time(inc.opened_ms)}`,
      inc.reopened ? ` · re-opened ${inc.reopened}×` : "",
      inc.parent ? [" · linked to ", link(`/ui/incidents/${encodeURIComponent(inc.parent)}`, inc.parent)] : ""),
    inc.linked && inc.linked.length ? h("p", {}, "Linked to this one: ", ...inc.linked.map((l) => [link(`/ui/incidents/${encodeURIComponent(l)}`, l), " "])) : "",
  );
  if (may("act-on-incidents")) {
    const buttons = ACTIONS.filter((a) => a.when.includes(inc.state)).map((a) =>
      h("button", { type: "button", "data-action": a.action, onclick: () => void act(a.action) }, a.label));
    buttons.push(h("button", { type: "button", "data-action": "comment", onclick: () => void act("comment") }, "Comment"));
    main.append(h("div", { class: "actions" }, note, h("div", {}, ...buttons)), status);
  }
  main.append(
    h("h2", {}, "Timeline"),
    h("ol", { class: "timeline", id: "timeline" }, ...(inc.timeline ?? []).map((t) =>
      h("li", { "data-action": t.action }, h("time", {}, time(t.time_ms)), " ", h("strong", {}, t.action), ` by ${t.by}`, t.text ? `: ${t.text}` : ""))),
  );
}
