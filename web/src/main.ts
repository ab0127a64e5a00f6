// SPDX-License-Identifier: Apache-2.0
// The console's shell: sign-in, the navigation, and the page each URL
// names, so that any page can be linked from a ticket.
import "./style.css";
import { session, setUnauthenticatedHandler, signOut } from "./api";
import { setRouter } from "./nav";
import { clear, h, link } from "./dom";
import { fleetPage } from "./pages/fleet";
import { ciPage } from "./pages/ci";
import { incidentPage, incidentsPage } from "./pages/incidents";
import { impactPage } from "./pages/impact";
import { servicePage, servicesPage } from "./pages/services";
import { reportsPage } from "./pages/reports";
import { signInPage } from "./pages/signin";

export type Page = (main: HTMLElement, params: Record<string, string>, query: URLSearchParams) => Promise<void> | void;

const routes: [RegExp, Page, string][] = [
  [/^\/ui\/?$/, () => route("/ui/fleet", true), ""],
  [/^\/ui\/fleet$/, fleetPage, "Fleet"],
  [/^\/ui\/ci\/(?<id>[^/]+)$/, ciPage, "Fleet"],
  [/^\/ui\/services$/, servicesPage, "Services"],
  [/^\/ui\/services\/(?<name>[^/]+)$/, servicePage, "Services"],
  [/^\/ui\/impact$/, impactPage, "Impact"],
  [/^\/ui\/incidents$/, incidentsPage, "Incidents"],
  [/^\/ui\/incidents\/(?<id>[^/]+)$/, incidentPage, "Incidents"],
  [/^\/ui\/reports$/, reportsPage, "Reports"],
  [/^\/ui\/signin$/, signInPage, ""],
];

const app = document.getElementById("app")!;

function shell(section: string): HTMLElement {
  clear(app);
  const s = session();
  const nav = h(
    "nav",
    { class: "top" },
    h("span", { class: "brand" }, "Surveyor"),
    ...["Fleet", "Services", "Impact", "Incidents", "Reports"].map((name) =>
      link(`/ui/${name.toLowerCase()}`, name),
    ),
    h("span", { class: "spacer" }),
    s
      ? h(
          "span",
          { class: "who" },
          `${s.name} (${s.role}) `,
          h("button", { type: "button", class: "link", onclick: () => { signOut(); void route("/ui/signin"); } }, "Sign out"),
        )
      : null,
  );
  for (const a of nav.querySelectorAll("a")) if (a.textContent === section) a.classList.add("current");
  const main = h("main", { id: "main" });
  app.append(nav, main);
  return main;
}

async function route(path: string, replace = false): Promise<void> {
  const url = new URL(path, location.origin);
  if (url.pathname + url.search !== location.pathname + location.search) {
    if (replace) history.replaceState(null, "", url.pathname + url.search);
    else history.pushState(null, "", url.pathname + url.search);
  }
  await render();
}

async function render(): Promise<void> {
  const path = location.pathname;
  if (!session() && path !== "/ui/signin") {
    history.replaceState(null, "", `/ui/signin?next=${encodeURIComponent(path + location.search)}`);
  }
  for (const [re, page, section] of routes) {
    const m = re.exec(location.pathname);
    if (!m) continue;
    const main = shell(section);
    const params: Record<string, string> = {};
    try {
      for (const [k, v] of Object.entries(m.groups ?? {})) params[k] = decodeURIComponent(v);
      await page(main, params, new URLSearchParams(location.search));
    } catch (e) {
      main.append(h("p", { class: "error", role: "alert" }, e instanceof Error ? e.message : String(e)));
    }
    document.body.dataset.ready = location.pathname; // tests wait for this
    return;
  }
  shell("").append(h("h1", {}, "Not found"), h("p", {}, "No page at ", location.pathname, "."));
  document.body.dataset.ready = location.pathname;
}

// Links inside the console navigate without reloading.
document.addEventListener("click", (e) => {
  const a = (e.target as Element).closest?.("a[data-nav]") as HTMLAnchorElement | null;
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  void route(a.getAttribute("href")!);
});
window.addEventListener("popstate", () => void render());
setUnauthenticatedHandler(() => {
  signOut();
  if (location.pathname !== "/ui/signin") void route(`/ui/signin?next=${encodeURIComponent(location.pathname + location.search)}`, true);
});

setRouter(route);
void render();
