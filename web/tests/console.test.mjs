// SPDX-License-Identifier: Apache-2.0
// The web console in a real browser (Debian's chromium, driven headless by
// playwright-core) against a real collector on loopback, with a real agent
// for this host and seeded data: a host whose filesystem fills over three
// hours, in a service with an SLA; the host then falls silent and an
// availability incident opens. One click path per user:
//   - the capacity planner opens the host from the fleet, sees the forecast
//     band and the threshold, and changes the range;
//   - the change manager runs an impact analysis and creates a change record;
//   - the operator acknowledges and resolves the incident and sees both on
//     its timeline;
//   - the auditor reads each clause's evidence report as a page of its own,
//     and prints it to PDF with the command line.
// Each path fails on any browser console error and saves screenshots.
//
// Environment: SURVEYOR_BIN_DIR (surveyor-collector, surveyor-agent, surveyor),
// SURVEYOR_UI_DIR (the built console), SURVEYOR_UI_ARTIFACTS (screenshots),
// CHROMIUM (default /usr/bin/chromium).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const BIN = process.env.SURVEYOR_BIN_DIR;
const UI = process.env.SURVEYOR_UI_DIR;
const ART = process.env.SURVEYOR_UI_ARTIFACTS ?? join(tmpdir(), "surveyor-ui-artifacts");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
for (const [what, path] of [["SURVEYOR_BIN_DIR", BIN], ["SURVEYOR_UI_DIR", UI && join(UI, "index.html")], ["CHROMIUM", CHROMIUM]])
  if (!path || !existsSync(path)) throw new Error(`${what}: ${path} does not exist (make test builds and installs what this needs)`);
mkdirSync(ART, { recursive: true });

const dir = mkdtempSync(join(tmpdir(), "surveyor-ui-"));
const children = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
};
process.on("exit", () => {
  cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function eventually(what, f, seconds = 30) {
  const until = Date.now() + seconds * 1000;
  let last;
  while (Date.now() < until) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

function start(name, args) {
  const p = spawn(join(BIN, name), args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env } });
  let out = "";
  p.stdout.on("data", (d) => (out += d));
  p.stderr.on("data", (d) => (out += d));
  p.output = () => out;
  children.push(p);
  return p;
}

// --- the collector, tokens, the real agent ----------------------------------------
const hostname = readFileSync("/proc/sys/kernel/hostname", "utf8").trim();
mkdirSync(join(dir, "services"));
writeFileSync(join(dir, "services", "shop.toml"),
  `name = "shop"\nowner = "shop-team@example.com"\ncriticality = "critical"\ndescription = "The web shop"\nsla_target = 99.9\n` +
  `[[group]]\nname = "web"\nmembers = ["web-seeded"]\n`);
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const store = `sqlite:${join(dir, "surveyor.db")}`;
writeFileSync(join(dir, "collector.toml"),
  `listen = "127.0.0.1:${port}"\nstore = "${store}"\nenrollment_token = "ui-token"\n` +
  `services_dir = "${join(dir, "services")}"\nui_dir = "${UI}"\nrate_limit = 0\n` +
  `availability_interval = "1s"\ncapacity_interval = "1s"\nincident_hold_down = "2s"\n`);
const collector = start("surveyor-collector", ["--config", join(dir, "collector.toml")]);
await eventually("the collector", async () => (await fetch(`${url}/healthz`)).ok).catch((e) => {
  throw new Error(`${e.message}\n${collector.output()}`);
});
const token = (name, role) =>
  execFileSync(join(BIN, "surveyor-collector"), ["token", "create", "--store", store, "--name", name, "--role", role], { encoding: "utf8" }).trim();
const tokens = { planner: token("pat", "viewer"), changer: token("chris", "change-manager"), operator: token("olga", "operator") };
writeFileSync(join(dir, "agent.toml"),
  `collector_url = "${url}"\nenrollment_token = "ui-token"\nstate_dir = "${join(dir, "agent-state")}"\n` +
  `sample_interval = "1s"\nreport_interval = "1s"\n`);
const agent = start("surveyor-agent", ["--config", join(dir, "agent.toml")]);

async function call(method, path, body, auth = tokens.changer) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${auth}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

// --- seeded data: web-seeded, three hours of samples, then silence ----------------
const enrolled = await call("POST", "/api/v1/enroll", { token: "ui-token", host_id: "seeded-0001", hostname: "web-seeded", agent_version: "0.1.0" });
assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
const seeded = enrolled.body;
const now = Date.now();
const minute = 60_000;
const times = Array.from({ length: 180 }, (_, i) => now - (180 - i) * minute);
const wobble = (i) => Math.sin(i * 1.7) * 0.004; // deterministic scatter, so the band has a width
const report = {
  protocol: 1, agent_id: seeded.agent_id, sequence: 1, sent_at_ms: now, heartbeat_interval_s: 1, agent_version: "0.1.0",
  inventory: {
    collected_at_ms: now - minute,
    host: { state: "collected", data: { host_id: "seeded-0001", hostname: "web-seeded", os_type: "linux", os_name: "Debian GNU/Linux",
      os_version: "12", os_description: "Debian GNU/Linux 12 (bookworm)", kernel_release: "6.1.0", architecture: "x86_64",
      memory_total_bytes: 8589934592, boot_time_ms: now - 86400e3 } },
    memory: { state: "failed", reason: "/sys/firmware/dmi/tables/DMI: Permission denied" },
  },
  series: [
    { metric: "system.filesystem.utilization", unit: "1", attributes: { device: "/dev/vda1", mode: "rw", mountpoint: "/", type: "ext4" },
      points: times.map((t, i) => [t, 0.55 + 0.25 * (i / 180) + wobble(i)]) },
    { metric: "system.filesystem.utilization", unit: "1", attributes: { device: "/dev/vdb1", mode: "rw", mountpoint: "/srv", type: "ext4" },
      points: times.map((t, i) => [t, 0.3 + wobble(i + 3)]) },
    { metric: "system.cpu.utilization", unit: "1", attributes: {}, points: times.map((t, i) => [t, 0.3 + 0.1 * Math.sin(i / 10)]) },
    { metric: "system.memory.utilization", unit: "1", attributes: { state: "used" }, points: times.map((t, i) => [t, 0.6 + wobble(i)]) },
  ],
};
const posted = await fetch(`${url}/api/v1/reports`, {
  method: "POST",
  headers: { "Content-Type": "application/json", Authorization: `Bearer ${seeded.agent_id}:${seeded.agent_key}` },
  body: JSON.stringify(report),
});
assert.equal(posted.status, 202, await posted.text());
// Silent since: two heartbeat intervals later the host is down, and so is
// the shop, which stands on it alone.
const incident = await eventually("the availability incident of web-seeded", async () => {
  const r = await call("GET", "/api/v1/incidents?state=active", undefined, tokens.planner);
  return r.body.items.find((i) => i.subject === seeded.ci_id && i.kind === "availability");
});
await eventually("this host's agent", async () => {
  const r = await call("GET", `/api/v1/cis?name=${encodeURIComponent(hostname)}`, undefined, tokens.planner);
  return r.body.items.length > 0;
});

// --- the browser ----------------------------------------------------------------
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
let failures = 0;

async function path(name, f) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  const shot = async (what) => page.screenshot({ path: join(ART, `${name}-${what}.png`), fullPage: true });
  const started = Date.now();
  try {
    await f(page, shot);
    assert.deepEqual(errors, [], "no browser console error");
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failures++;
    await shot("failure").catch(() => {});
    console.log(`not ok - ${name}: ${e.stack ?? e}\n  browser errors: ${JSON.stringify(errors)}`);
  } finally {
    await context.close();
  }
}

async function signIn(page, tokenOf, next) {
  await page.goto(`${url}${next}`);
  await page.waitForURL(/\/ui\/signin/);
  await page.fill("#token", tokenOf);
  await page.click("button[type=submit]");
  await page.waitForURL((u) => u.pathname + u.search === next || u.pathname === next);
}

// A page has drawn once the router marked it (body[data-ready] = its path).
// (Locators, not page.waitForFunction: the console's CSP allows no eval.)
const ready = (page) => page.locator(`body[data-ready="${new URL(page.url()).pathname}"]`).waitFor();

await path("planner", async (page, shot) => {
  await signIn(page, tokens.planner, "/ui/fleet");
  await ready(page);
  await page.fill("#fleet-search", "web-");
  await page.press("#fleet-search", "Enter");
  await page.waitForURL(/q=web-/);
  await page.waitForSelector("#fleet-table >> text=web-seeded");
  assert.match(await page.textContent("#fleet-count"), /^1–1 of 1$/);
  // Its latest CPU, memory and fullest filesystem: 60 % memory, / nearly 80 %.
  assert.match(await page.textContent("#fleet-table tbody"), /web-seeded.*6\d\.\d %.*[78]\d\.\d % \//s);
  await page.selectOption("#fleet-service", "shop");
  await page.waitForURL(/service=shop/);
  await page.waitForSelector("#fleet-table >> text=web-seeded");
  // The fleet's hot spots, from the capacity evaluation (every second here).
  await page.waitForSelector("#hot-spots >> text=web-seeded");
  await shot("fleet");
  await page.click("#fleet-table >> text=web-seeded");
  await page.waitForURL(new RegExp(`/ui/ci/${seeded.ci_id}`));
  await page.waitForSelector("#charts[data-render-ms]");
  // The filesystems' chart: two series, the forecast, its band and the threshold.
  const fs = page.locator('.chart[data-metric="system.filesystem.utilization"]');
  const legend = await fs.locator(".u-legend .u-series").allTextContents();
  const labels = legend.map((t) => t.split(/\s/)[0] ?? t).join(" | ");
  assert.ok(legend.filter((t) => t.includes("mountpoint=")).length === 2, `two filesystems in ${labels}`);
  for (const want of ["forecast", "95 % upper", "95 % lower", "threshold"])
    assert.ok(legend.some((t) => t.includes(want)), `${want} in the legend: ${legend.join(" | ")}`);
  assert.match(await fs.locator(".forecast").textContent(), /reaches 90\.0 % around .* \(95 %: /);
  assert.equal(await page.locator("#inventory >> text=Permission denied").count(), 1, "the failed section is shown as failed");
  await shot("host-24h");
  await page.selectOption("#range", "1h");
  await page.waitForURL(/range=1h/);
  await page.waitForSelector("#charts[data-render-ms]");
  const cpu = page.locator('.chart[data-metric="system.cpu.utilization"] canvas');
  assert.ok((await cpu.count()) >= 1, "the CPU chart after the range changed");
  await shot("host-1h");
});

await path("change-manager", async (page, shot) => {
  await signIn(page, tokens.changer, "/ui/impact");
  await ready(page);
  await page.fill("#impact-ci", seeded.ci_id);
  await page.click("form.filters button[type=submit]");
  await page.waitForURL(/\/ui\/impact\?ci=/);
  await page.waitForSelector("#impact-services >> text=shop");
  assert.match(await page.textContent("#impact-summary"), /1 service\(s\) reached/);
  assert.match(await page.textContent("#impact-services"), /down/);
  assert.match(await page.textContent("#impact-incidents"), new RegExp(incident.id), "the host's open incident");
  await page.locator("#impact-graph[data-nodes]").waitFor();
  assert.ok(Number(await page.getAttribute("#impact-graph", "data-nodes")) >= 2, "the graph has the CI and the service");
  await shot("impact");
  await page.fill("#change-reference", "CHG-UI-1");
  await page.fill("#change-description", "disk replacement");
  await page.click("#change-form button[type=submit]");
  await page.waitForSelector("#change-status.ok");
  assert.match(await page.textContent("#change-status"), /Change CHG-UI-1 recorded/);
  await shot("change-created");
  const changes = await call("GET", `/api/v1/changes?ci=${seeded.ci_id}`, undefined, tokens.planner);
  assert.equal(changes.body.items.length, 1);
  assert.equal(changes.body.items[0].reference, "CHG-UI-1");
  assert.match(changes.body.items[0].actor, /^chris /);
});

await path("operator", async (page, shot) => {
  await signIn(page, tokens.operator, "/ui/incidents");
  await ready(page);
  await page.waitForSelector(`#incidents >> text=${incident.id}`);
  await shot("incidents");
  await page.click(`#incidents >> text=${incident.id}`);
  await page.waitForURL(new RegExp(`/ui/incidents/${incident.id}$`));
  await page.fill("#incident-note", "looking at it");
  await page.click('button[data-action="acknowledge"]');
  await page.waitForSelector('#timeline li[data-action="acknowledged"]');
  assert.match(await page.textContent('#timeline li[data-action="acknowledged"]'), /by olga .*looking at it/);
  await page.click('button[data-action="resolve"]');
  await page.waitForSelector('#timeline li[data-action="resolved"]');
  assert.equal(await page.locator('button[data-action="acknowledge"]').count(), 0, "a resolved incident offers no acknowledge");
  await shot("incident-resolved");
  const after = await call("GET", `/api/v1/incidents/${incident.id}`, undefined, tokens.planner);
  const byOlga = after.body.timeline.filter((t) => t.by.startsWith("olga ")).map((t) => t.action);
  assert.deepEqual(byOlga, ["acknowledged", "resolved"]);
});

// The service owner's pages: services, one service, reports.
await path("service-owner", async (page, shot) => {
  await signIn(page, tokens.planner, "/ui/services");
  await ready(page);
  await page.waitForSelector("#services >> text=shop");
  assert.match(await page.textContent("#services"), /99\.9 %/);
  await shot("services");
  await page.click("#services >> text=shop");
  await page.waitForURL(/\/ui\/services\/shop$/);
  await page.locator("#dependency-graph[data-nodes]").waitFor();
  assert.match(await page.textContent("#sla"), /99\.9 %/);
  assert.equal(await page.locator("#burn canvas").count() > 0, true, "the error budget's burn chart");
  assert.match(await page.textContent("#members"), /web-seeded\s*down/);
  assert.match(await page.textContent("#verdict"), /down/);
  await shot("service");
  await page.click("nav.top >> text=Reports");
  await page.waitForURL(/\/ui\/reports$/);
  await page.waitForSelector("#capacity-report");
  assert.match(await page.textContent("#sla-reports"), /shop.*computed now/s);
  assert.match(await page.textContent("#capacity-report"), /web-seeded.*filesystem-forecast/s);
  await shot("reports");
});

// A viewer is offered no action the role may not take.
await path("viewer-offered-nothing", async (page) => {
  await signIn(page, tokens.planner, `/ui/incidents/${incident.id}`);
  await ready(page);
  await page.waitForSelector("#timeline");
  assert.equal(await page.locator("button[data-action]").count(), 0);
});

// The auditor: each clause's evidence report as HTML renders on its own
// (no script, nothing fetched) without a console error; the command line
// prints it to PDF with this Chromium, and the PDF's pages are counted.
const month = new Date().toISOString().slice(0, 7);
for (const clause of ["8.2.6", "8.3.3", "8.4.3", "8.5.1", "8.6.1", "8.7.1", "9.1"]) {
  await path(`auditor-${clause}`, async (page, shot) => {
    const res = await fetch(`${url}/api/v1/evidence/${clause}?period=${month}&format=html`, {
      headers: { Authorization: `Bearer ${tokens.planner}` },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /^text\/html/);
    const html = await res.text();
    const requests = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.setContent(html, { waitUntil: "load" });
    assert.deepEqual(requests.filter((u) => !u.startsWith("about:") && !u.startsWith("data:")), [], "nothing fetched");
    assert.match(await page.textContent("h1"), new RegExp(`clause ${clause.replaceAll(".", "\\.")}`));
    assert.equal(await page.locator("script").count(), 0);
    await shot("report");
    const pdf = join(ART, `evidence-${clause}.pdf`);
    execFileSync(join(BIN, "surveyor"), ["--collector", url, "evidence", clause, "--period", month, "--format", "pdf", "--output", pdf], {
      env: { ...process.env, SURVEYOR_TOKEN: tokens.planner, SURVEYOR_CHROMIUM: CHROMIUM },
      stdio: "pipe",
    });
    const bytes = readFileSync(pdf).toString("latin1");
    assert.ok(bytes.startsWith("%PDF-"), "a PDF");
    const pages = (bytes.match(/\/Type\s*\/Page(?![s\w])/g) ?? []).length;
    const counts = [...bytes.matchAll(/\/Type\s*\/Pages\b[^>]*?\/Count\s+(\d+)|\/Count\s+(\d+)[^>]*?\/Type\s*\/Pages\b/g)].map((m) => Number(m[1] ?? m[2]));
    assert.ok(pages >= 1 && pages <= 4, `a report of a few pages: ${pages}`);
    assert.equal(Math.max(...counts), pages, "the page tree counts the pages there are");
    console.log(`  evidence ${clause}: ${pages} page(s) in ${pdf}`);
  });
}

await browser.close();
cleanup();
if (agent.exitCode !== null && agent.exitCode !== 0) console.log(agent.output());
console.log(failures ? `${failures} path(s) failed; screenshots in ${ART}` : `all paths passed; screenshots in ${ART}`);
process.exit(failures ? 1 : 0);
