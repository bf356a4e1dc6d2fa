import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The SDK's sources, not its build: tests run on a fresh clone before any build.
    alias: { '@authio/js': decodeURIComponent(new URL('../../packages/js/src/index.ts', import.meta.url).pathname) },
  },
  esbuild: { jsx: 'automatic' },
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    environment: 'node',
  },
});
