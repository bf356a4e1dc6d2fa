import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

// The demo page calls the API on its own origin (`/v1/...`). `vite preview` (the e2e
// global setup) proxies `/v1` to the real server; for `vite` / `vite preview` by hand,
// AUTHIO_API=http://127.0.0.1:8080 does the same.
//
// `@authio/js` resolves to the SDK's TypeScript source, so the page always runs the
// SDK as it is in the work tree (its dist/ need not be built or fresh).
const api = process.env.AUTHIO_API;
const proxy = api ? { '/v1': { target: api, changeOrigin: false } } : undefined;

export default defineConfig({
  resolve: {
    alias: { '@authio/js': fileURLToPath(new URL('../../packages/js/src/index.ts', import.meta.url)) },
  },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2020', sourcemap: true },
  server: { host: '127.0.0.1', proxy },
  preview: { host: '127.0.0.1', proxy },
});
