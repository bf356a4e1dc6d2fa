import { defineConfig } from '@playwright/test';

// The e2e run (npm run e2e): global-setup.ts starts a copy of the authio debug binary on
// a fresh SQLite database (or on DASHBOARD_DATABASE_URL, an empty database: scripts/web-check
// runs the flows a second time on a throwaway PostgreSQL database) and serves dist/ with
// `vite preview`, proxying /v1 to it, so the app and the API share one origin as they will
// when the binary serves /dashboard (DASHBOARD_FROM_BINARY=1: the binary's own pages).
// Debian's Chromium is used; Playwright's own browsers are never downloaded.
export default defineConfig({
  testDir: 'e2e',
  globalSetup: './e2e/global-setup.ts',
  // The tests share one operator (and so one console session's active tenant): one at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 860 },
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
    trace: 'off',
    screenshot: 'only-on-failure',
  },
});
