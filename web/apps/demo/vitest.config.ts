import { defineConfig } from 'vitest/config';

// Unit tests only; the Playwright flows (e2e/*.spec.ts) run with `npm run e2e`.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], environment: 'node' },
});
