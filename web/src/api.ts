// SPDX-License-Identifier: Apache-2.0
// The collector's API with the operator's token. The token is kept for the
// browser tab only (sessionStorage): closing the tab signs out.

export type Role = "viewer" | "operator" | "change-manager" | "admin";

export interface Session {
  token: string;
  name: string;
  role: Role;
}

const KEY = "surveyor.session";

export function session(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    return JSON.parse(raw) as Session;
  } catch {
    return null;
  }
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
}

// What a role may do, as the API's table has it (docs/api.md): the page
// offers only these; the server refuses the rest anyway.
export function may(what: "act-on-incidents" | "write-changes"): boolean {
  const role = session()?.role;
  if (role === "admin") return true;
  return what === "act-on-incidents" ? role === "operator" : role === "change-manager";
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// Called when the token is refused (401): the page goes to sign-in.
let onUnauthenticated: () => void = () => {};
export function setUnauthenticatedHandler(f: () => void): void {
  onUnauthenticated = f;
}

export async function api<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const s = session();
  const headers = new Headers(init.headers);
  if (s) headers.set("Authorization", `Bearer ${s.token}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(init.json);
  }
  const res = await fetch(path, { ...init, headers, body });
  const text = await res.text();
  if (!res.ok) {
    let code = "error";
    let message = `${res.status} ${res.statusText}`;
    try {
      const e = JSON.parse(text) as { error?: string; message?: string };
      code = e.error ?? code;
      message = e.message ?? message;
    } catch {
      /* not JSON: keep the status line */
    }
    if (res.status === 401) onUnauthenticated();
    throw new ApiError(res.status, code, message);
  }
  return (text ? JSON.parse(text) : {}) as T;
}

// Signs in with a token: asks the collector who it is, keeps it for the tab.
export async function signIn(token: string): Promise<Session> {
  const res = await fetch("/api/v1/whoami", { headers: { Authorization: `Bearer ${token}` } });
  const body = (await res.json().catch(() => ({}))) as { name?: string; role?: Role; message?: string };
  if (!res.ok || !body.role || !body.name) throw new Error(body.message ?? `the collector answered ${res.status}`);
  const s: Session = { token, name: body.name, role: body.role };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
}

// A query string from the parameters that have a value.
export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : "";
}

// The shapes the pages read (docs/api.md).
export interface Ci {
  id: string;
  type: string;
  name: string;
  state: string;
  source: string;
  first_seen: string;
  last_seen: string;
  updated: string;
  attributes?: Record<string, unknown>;
  // With include=utilization: the latest CPU, memory and fullest filesystem shares.
  utilization?: { cpu?: { value: number }; memory?: { value: number }; filesystem?: { value: number; mountpoint?: string } };
}
export interface CiList {
  count: number;
  total: number;
  limit: number;
  offset: number;
  items: Ci[];
}
export interface Incident {
  id: string;
  kind: string;
  subject: string;
  rule: string;
  summary: string;
  priority: number;
  state: string;
  opened_ms: number;
  updated_ms: number;
  acknowledged_ms: number;
  resolved_ms: number;
  closed_ms: number;
  parent: string;
  reopened: number;
  timeline?: { time_ms: number; by: string; action: string; text: string }[];
  linked?: string[];
}
export interface CapacityEvent {
  id: string;
  kind: string;
  rule: string;
  ci_id: string;
  metric: string;
  attributes: Record<string, string>;
  state: string;
  threshold: number;
  value: number;
  predicted: string | null;
  summary: string;
}
export interface HotSpot {
  rule: string;
  ci_id: string;
  ci_name: string;
  metric: string;
  attributes: Record<string, string>;
  unit: string;
  value: number | null;
  threshold: number;
  closeness: number | null;
  reaches_at: string | null;
}
export interface SeriesAnswer {
  from: string;
  to: string;
  step?: string;
  series: { ci_id: string; metric: string; attributes: Record<string, string>; unit: string; points: [number, number | null][] }[];
}
export interface ForecastItem {
  ci_id: string;
  metric: string;
  attributes: Record<string, string>;
  unit: string;
  fit: { slope_per_day: number; value_now: number; r2: number } | null;
  threshold?: { value: number; outcome: string; at: string | null; earliest: string | null; latest: string | null; days: number | null };
  band?: [number, number, number, number][];
}
