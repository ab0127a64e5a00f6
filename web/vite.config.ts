// SPDX-License-Identifier: Apache-2.0
// The console is served by surveyor-collector under /ui/; the build goes to
// SURVEYOR_UI_OUT (default ../build/ui), where ui_dir points.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/ui/",
  build: {
    outDir: process.env.SURVEYOR_UI_OUT ?? "../build/ui",
    emptyOutDir: true,
    target: "es2020",
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
});
