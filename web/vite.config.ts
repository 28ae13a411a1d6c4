import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// `npm run dev` serves the UI with hot reload and forwards the API to `make run`'s port.
const API = process.env.ORGO_API_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    // Every file under assets/ has its content hash in its name: the servers mark them
    // immutable (orgo.api.web, web/nginx.conf); index.html is revalidated every time.
    assetsDir: "assets",
    target: "es2022",
  },
  server: { proxy: { "/api": API } },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
