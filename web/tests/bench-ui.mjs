// SPDX-License-Identifier: Apache-2.0
// The console's speed in a real browser (Debian's chromium, headless), as
// docs/benchmarks.md describes: the fleet page with HOSTS hosts enrolled,
// from navigation until it is drawn and answers input; and a host's 30-day
// chart of 1-minute samples (43,200 points in each of its series), from the
// data's arrival until drawn. Prints the figures; not a test.
// Usage: node bench-ui.mjs (SURVEYOR_BIN_DIR, SURVEYOR_UI_DIR, HOSTS, RUNS)
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BIN = process.env.SURVEYOR_BIN_DIR;
const UI = process.env.SURVEYOR_UI_DIR;
const HOSTS = Number(process.env.HOSTS ?? 10000);
const RUNS = Number(process.env.RUNS ?? 5);
const dir = mkdtempSync(join(tmpdir(), "surveyor-bench-ui-"));
const port = await new Promise((r) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
const url = `http://127.0.0.1:${port}`;
const store = `sqlite:${join(dir, "s.db")}`;
writeFileSync(join(dir, "c.toml"), `listen = "127.0.0.1:${port}"\nstore = "${store}"\nenrollment_token = "bench"\nui_dir = "${UI}"\nrate_limit = 0\n`);
const collector = spawn(join(BIN, "surveyor-collector"), ["--config", join(dir, "c.toml")], { stdio: "ignore" });
process.on("exit", () => { collector.kill(); rmSync(dir, { recursive: true, force: true }); });
for (let i = 0; i < 100; i++) { try { if ((await fetch(`${url}/healthz`)).ok) break; } catch {} await new Promise((r) => setTimeout(r, 100)); }
const token = execFileSync(join(BIN, "surveyor-collector"), ["token", "create", "--store", store, "--name", "bench", "--role", "viewer"], { encoding: "utf8" }).trim();

const post = (path, body, auth) => fetch(`${url}${path}`, { method: "POST", headers: { "Content-Type": "application/json", ...(auth ? { Authorization: `Bearer ${auth}` } : {}) }, body: JSON.stringify(body) });
let t = Date.now();
for (let i = 0; i < HOSTS; i += 64)
  await Promise.all(Array.from({ length: Math.min(64, HOSTS - i) }, (_, k) =>
    post("/api/v1/enroll", { token: "bench", host_id: `bench-${i + k}`, hostname: `host-${String(i + k).padStart(5, "0")}` })));
console.log(`enrolled ${HOSTS} hosts in ${((Date.now() - t) / 1000).toFixed(1)} s`);

// One host with 30 days of 1-minute samples in three series.
const one = await (await post("/api/v1/enroll", { token: "bench", host_id: "bench-30d", hostname: "thirty-days" })).json();
const now = Date.now();
const N = 43200;
const times = Array.from({ length: N }, (_, i) => now - (N - i) * 60000);
const series = [
  { metric: "system.cpu.utilization", unit: "1", attributes: {}, points: times.map((x, i) => [x, 0.3 + 0.2 * Math.sin(i / 500) + 0.05 * Math.sin(i * 1.3)]) },
  { metric: "system.filesystem.utilization", unit: "1", attributes: { device: "/dev/vda1", mode: "rw", mountpoint: "/", type: "ext4" }, points: times.map((x, i) => [x, 0.4 + 0.3 * i / N + 0.01 * Math.sin(i)]) },
  { metric: "system.filesystem.utilization", unit: "1", attributes: { device: "/dev/vdb1", mode: "rw", mountpoint: "/srv", type: "ext4" }, points: times.map((x, i) => [x, 0.2 + 0.01 * Math.sin(i / 7)]) },
];
t = Date.now();
const sent = await post("/api/v1/reports", { protocol: 1, agent_id: one.agent_id, sequence: 1, sent_at_ms: now, heartbeat_interval_s: 60, series },
  `${one.agent_id}:${one.agent_key}`);
if (sent.status !== 202) throw new Error(`report: ${sent.status} ${await sent.text()}`);
console.log(`stored 30 days x 3 series (${3 * N} samples) in ${((Date.now() - t) / 1000).toFixed(1)} s`);

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu"] });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
await page.goto(`${url}/ui/signin`);
await page.fill("#token", token);
await page.click("button[type=submit]");
await page.waitForURL(/\/ui\/fleet/);
await page.locator('body[data-ready="/ui/fleet"]').waitFor();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fleet = [];
for (let r = 0; r < RUNS; r++) {
  await page.goto("about:blank");
  const start = Date.now();
  await page.goto(`${url}/ui/fleet?page=${r * 7}`);
  await page.locator('body[data-ready="/ui/fleet"]').waitFor();
  await page.fill("#fleet-search", "host-0"); // it answers input
  fleet.push(Date.now() - start);
}
const total = await page.textContent("#fleet-count");
console.log(`fleet page, ${HOSTS + 1} hosts (${total}): navigation to drawn and answering input, median of ${RUNS}: ${median(fleet)} ms (all: ${fleet.join(", ")})`);

const charts = [];
const arrive = [];
for (let r = 0; r < RUNS; r++) {
  await page.goto("about:blank");
  const start = Date.now();
  await page.goto(`${url}/ui/ci/${one.ci_id}?range=30d&agg=raw`);
  await page.locator("#charts[data-render-ms]").waitFor();
  arrive.push(Date.now() - start);
  charts.push(Number(await page.getAttribute("#charts", "data-render-ms")));
}
const points = await page.evaluate(() => document.querySelectorAll(".chart canvas").length);
console.log(`30-day chart, every sample (${N} points a series; ${points} charts drawn): slowest chart drawn in ${median(charts).toFixed(1)} ms after its data arrived (median of ${RUNS}; all: ${charts.map((x) => x.toFixed(1)).join(", ")}); whole page ${median(arrive)} ms`);
await browser.close();
process.exit(0);
