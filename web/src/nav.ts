// SPDX-License-Identifier: Apache-2.0
// Navigation from inside a page (after a form is sent, say); main.ts sets
// the router.
let go: (path: string, replace?: boolean) => Promise<void> = async (path) => {
  location.assign(path);
};
export function setRouter(f: typeof go): void {
  go = f;
}
export function navigate(path: string, replace = false): Promise<void> {
  return go(path, replace);
}
