// SPDX-License-Identifier: Apache-2.0
// Fleet: every CI, searched by name prefix and filtered by type, state and service,
// a page at a time from the server (10,000 hosts page as fast as 10); the
// open incidents, latest utilisation and open capacity events per CI; and
// the capacity hot spots of the whole fleet.
import { api, qs, type CapacityEvent, type CiList, type HotSpot, type Incident } from "../api";
import { ago, badge, h, link, percent, table, time, until } from "../dom";
import { navigate } from "../nav";

const PAGE = 50;

export async function fleetPage(main: HTMLElement, _p: Record<string, string>, query: URLSearchParams): Promise<void> {
  const prefix = query.get("q") ?? "";
  const type = query.get("type") ?? "";
  const state = query.get("state") ?? "";
  const service = query.get("service") ?? "";
  const page = Math.max(0, Number(query.get("page") ?? "0") || 0);
  const go = (changes: Record<string, string>) => {
    const next = new URLSearchParams({ q: prefix, type, state, service, page: "0", ...changes });
    for (const [k, v] of [...next.entries()]) if (!v || (k === "page" && v === "0")) next.delete(k);
    const s = next.toString();
    void navigate(`/ui/fleet${s ? `?${s}` : ""}`);
  };

  const search = h("input", { type: "search", id: "fleet-search", placeholder: "name starts with…", value: prefix });
  const typeSel = h("select", { id: "fleet-type" }, ...["", "host", "application", "database", "disk", "filesystem", "nic"].map((t) => h("option", { value: t, selected: t === type }, t || "any type")));
  const stateSel = h("select", { id: "fleet-state" }, ...["", "active", "missing", "retired"].map((t) => h("option", { value: t, selected: t === state }, t || "any state")));
  const serviceSel = h("select", { id: "fleet-service" }, h("option", { value: "" }, "any service"));
  const form = h("form", { class: "filters" }, search, typeSel, stateSel, serviceSel, h("button", { type: "submit" }, "Search"));
  const current = () => ({ q: search.value.trim(), type: typeSel.value, state: stateSel.value, service: serviceSel.value });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    go(current());
  });
  for (const sel of [typeSel, stateSel, serviceSel]) sel.addEventListener("change", () => go(current()));
  main.append(h("h1", {}, "Fleet"), form);

  const [list, incidents, events, services] = await Promise.all([
    api<CiList>(`/api/v1/cis${qs({ prefix, type, state, service, include: "utilization", limit: PAGE, offset: page * PAGE })}`),
    api<{ items: Incident[] }>(`/api/v1/incidents${qs({ state: "active", limit: 10000 })}`),
    api<{ items: CapacityEvent[] }>(`/api/v1/capacity/events${qs({ state: "open", limit: 10000 })}`),
    api<{ items: { name: string }[] }>("/api/v1/services"),
  ]);
  for (const s of services.items) serviceSel.append(h("option", { value: s.name, selected: s.name === service }, s.name));
  const openBy = new Map<string, number>();
  for (const i of incidents.items) openBy.set(i.subject, (openBy.get(i.subject) ?? 0) + 1);
  const eventsBy = new Map<string, CapacityEvent[]>();
  for (const e of events.items) eventsBy.set(e.ci_id, [...(eventsBy.get(e.ci_id) ?? []), e]);

  const now = Date.now();
  const rows = list.items.map((c) => [
    link(`/ui/ci/${encodeURIComponent(c.id)}`, c.name),
    c.type,
    badge(c.state),
    h("span", { title: time(c.last_seen) }, ago(c.last_seen, now)),
    openBy.get(c.id) ? link(`/ui/incidents?subject=${encodeURIComponent(c.id)}`, String(openBy.get(c.id))) : "0",
    percent(c.utilization?.cpu?.value),
    percent(c.utilization?.memory?.value),
    c.utilization?.filesystem ? `${percent(c.utilization.filesystem.value)} ${c.utilization.filesystem.mountpoint ?? ""}` : "—",
    (eventsBy.get(c.id) ?? []).map((e) => h("div", {}, `${e.metric} ${percent(e.value)}`, e.predicted ? ` → ${percent(e.threshold, 0)} ${until(e.predicted, now)}` : "")),
  ]);
  const first = list.total === 0 ? 0 : page * PAGE + 1;
  const last = page * PAGE + list.items.length;
  main.append(
    h("p", { class: "count", id: "fleet-count" }, `${first}–${last} of ${list.total}`),
    table(["Name", "Type", "State", "Last seen", "Open incidents", "CPU", "Memory", "Fullest filesystem", "Capacity events"], rows, { id: "fleet-table", class: "grid" }),
    h(
      "div",
      { class: "pager" },
      page > 0 ? h("button", { type: "button", onclick: () => go({ ...current(), page: String(page - 1) }) }, "← Previous") : null,
      last < list.total ? h("button", { type: "button", id: "fleet-next", onclick: () => go({ ...current(), page: String(page + 1) }) }, "Next →") : null,
    ),
  );

  // Hot spots, from the latest capacity evaluation over the whole fleet:
  // the series closest to their thresholds, then the soonest to reach them.
  const hot = await api<{ evaluated: string | null; items: HotSpot[] }>("/api/v1/capacity/hotspots");
  main.append(
    h("h2", {}, "Capacity hot spots"),
    h("p", { class: "meta" }, hot.evaluated ? `The whole fleet, as the capacity evaluation of ${time(hot.evaluated)} found it.` : "No capacity evaluation yet."),
    hot.items.length === 0
      ? h("p", {}, "Nothing measured against a capacity rule yet.")
      : table(
          ["CI", "Rule", "Series", "Now", "Threshold", "Of threshold", "Reaches it"],
          hot.items.map((e) => [
            link(`/ui/ci/${encodeURIComponent(e.ci_id)}`, e.ci_name || e.ci_id),
            e.rule,
            `${e.metric} ${Object.values(e.attributes).join(" ")}`,
            e.unit === "1" ? percent(e.value) : String(e.value),
            e.unit === "1" ? percent(e.threshold, 0) : String(e.threshold),
            e.closeness === null ? "—" : `${Math.round(e.closeness * 100)} %`,
            e.reaches_at ? `${time(e.reaches_at)} (${until(e.reaches_at, now)})` : "—",
          ]),
          { id: "hot-spots", class: "grid" },
        ),
  );
}
