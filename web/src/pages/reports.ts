// SPDX-License-Identifier: Apache-2.0
// Reports: SLA reports per service and period (a frozen report shown as
// such, with its versions) and the capacity report of the whole fleet,
// each downloadable as CSV and printable.
import { api, qs, session } from "../api";
import { badge, h, table, time } from "../dom";
import { navigate } from "../nav";

interface SlaReport {
  service: string;
  period: string;
  target_percent: number;
  achieved_percent: number | null;
  downtime_seconds: number;
  error_budget_left_seconds: number;
  breached: boolean;
  record: { frozen: boolean; version: number | null; versions: { version: number; created: string; by: string; reason: string }[] };
}
interface CapacityRow {
  ci_id: string;
  ci_name: string;
  rule: string;
  metric: string;
  attributes: Record<string, string>;
  unit: string;
  current: number | null;
  p95: number | null;
  peak: number | null;
  threshold: number;
  headroom: number | null;
  outcome: string;
  reaches_at: string | null;
}

// A download with the token (a plain link would go without it).
async function download(path: string, file: string): Promise<void> {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${session()?.token ?? ""}` } });
  if (!res.ok) throw new Error(`the collector answered ${res.status}: ${await res.text()}`);
  const href = URL.createObjectURL(await res.blob());
  const a = h("a", { href, download: file });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}

export async function reportsPage(main: HTMLElement, _p: Record<string, string>, query: URLSearchParams): Promise<void> {
  const period = query.get("period") ?? "";
  const slas = await api<{ items: { service: string; period: string }[] }>("/api/v1/slas");
  const periodIn = h("input", { id: "report-period", placeholder: "2026-11, 2026-W48, 2026-Q4", value: period });
  const form = h("form", { class: "filters no-print" }, h("label", {}, "Period ", periodIn), h("button", { type: "submit" }, "Show"),
    h("button", { type: "button", onclick: () => window.print() }, "Print"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void navigate(`/ui/reports${qs({ period: periodIn.value.trim() })}`, true);
  });
  main.append(h("h1", {}, "Reports"), form, h("h2", {}, "SLA reports"));
  const reports = await Promise.all(slas.items.map((s) =>
    api<SlaReport>(`/api/v1/slas/${encodeURIComponent(s.service)}/report${qs({ period })}`).catch(() => null)));
  main.append(table(["Service", "Period", "Target", "Achieved", "Downtime", "Budget left", "Record", ""],
    reports.filter((r): r is SlaReport => r !== null).map((r) => [
      r.service, r.period, `${r.target_percent} %`, r.achieved_percent === null ? "—" : `${r.achieved_percent.toFixed(3)} %`,
      `${(r.downtime_seconds / 60).toFixed(1)} min`, `${(r.error_budget_left_seconds / 60).toFixed(1)} min`,
      r.record.frozen ? [badge(`frozen v${r.record.version}`, "frozen"), ` of ${r.record.versions.length}`] : badge("computed now", "live"),
      h("button", { type: "button", class: "no-print", onclick: () => void download(`/api/v1/slas/${encodeURIComponent(r.service)}/report${qs({ period: r.period, format: "csv" })}`, `sla-${r.service}-${r.period}.csv`).catch((e: Error) => alert(e.message)) }, "CSV"),
    ]), { class: "grid", id: "sla-reports" }));

  const win = query.get("window") ?? "7d";
  const cap = await api<{ now: string; items: CapacityRow[] }>(`/api/v1/capacity/report${qs({ type: "host", window: win })}`);
  main.append(
    h("h2", {}, `Capacity report, hosts, last ${win} (at ${time(cap.now)})`),
    h("button", { type: "button", class: "no-print", onclick: () => void download(`/api/v1/capacity/report${qs({ type: "host", window: win, format: "csv" })}`, `capacity-${win}.csv`).catch((e: Error) => alert(e.message)) }, "CSV"),
    table(["CI", "Rule", "Series", "Current", "p95", "Peak", "Threshold", "Headroom", "Threshold reached"], cap.items.map((r) => {
      const f = (v: number | null) => (v === null ? "—" : r.unit === "1" ? `${(v * 100).toFixed(1)} %` : String(Number(v.toPrecision(4))));
      return [r.ci_name, r.rule, `${r.metric} ${Object.values(r.attributes).join(" ")}`, f(r.current), f(r.p95), f(r.peak), f(r.threshold), f(r.headroom),
        r.outcome === "at" ? time(r.reaches_at) : r.outcome];
    }), { class: "grid", id: "capacity-report" }),
  );
}
