import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

// Relative asset URLs: the JobManager serves the dashboard at / and the REST API beside it,
// and a reverse proxy may mount both under a prefix.
export default defineConfig({
  base: "./",
  plugins: [preact()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
});
