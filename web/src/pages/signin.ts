// SPDX-License-Identifier: Apache-2.0
// Sign-in with an operator token (surveyor-collector token create): the
// collector says whose it is and its role; the tab keeps it until closed.
import { signIn } from "../api";
import { h } from "../dom";
import { navigate } from "../nav";

export function signInPage(main: HTMLElement, _p: Record<string, string>, query: URLSearchParams): void {
  const input = h("input", { type: "password", id: "token", name: "token", autocomplete: "off", required: true, size: 70 });
  const status = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { class: "signin" },
    h("h1", {}, "Sign in"),
    h("p", {}, "With an API token of yours (", h("code", {}, "surveyor-collector token create"), "). It is kept for this tab only."),
    h("label", { for: "token" }, "Token "),
    input,
    " ",
    h("button", { type: "submit" }, "Sign in"),
    status,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    status.textContent = "";
    signIn(input.value.trim())
      .then(() => {
        // Only back to a page of the console on this origin.
        let next = "/ui/fleet";
        try {
          const u = new URL(query.get("next") ?? "", location.origin);
          if (u.origin === location.origin && u.pathname.startsWith("/ui/") && !u.pathname.startsWith("/ui/signin"))
            next = u.pathname + u.search;
        } catch {
          /* not a URL: the fleet */
        }
        return navigate(next, true);
      })
      .catch((err: Error) => (status.textContent = `Not signed in: ${err.message}`));
  });
  main.append(form);
  input.focus();
}
