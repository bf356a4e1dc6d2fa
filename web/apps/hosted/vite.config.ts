import { defineConfig } from 'vite';

// The authio binary serves the built files at /hosted/ and the API on the same origin,
// so the pages call relative `/v1/...` URLs. For `vite` and `vite preview`, AUTHIO_API
// (e.g. http://127.0.0.1:8080) proxies `/v1` to a running server.
const api = process.env.AUTHIO_API;
const proxy = api ? { '/v1': { target: api, changeOrigin: false } } : undefined;

export default defineConfig({
  base: '/hosted/',
  // @authio/js from its sources (one build, whatever order the workspaces build in).
  resolve: {
    alias: { '@authio/js': decodeURIComponent(new URL('../../packages/js/src/index.ts', import.meta.url).pathname) },
  },
  // No React plugin: esbuild compiles TSX with the automatic runtime (no fast refresh).
  esbuild: { jsx: 'automatic' },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2020', sourcemap: false },
  server: { proxy },
  preview: { proxy },
});
