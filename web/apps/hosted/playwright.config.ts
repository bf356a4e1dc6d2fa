import { defineConfig } from '@playwright/test';

// The e2e run (npm run e2e): global-setup.ts starts a copy of the authio debug binary on
// a fresh SQLite database (file mail outbox, WebAuthn RP id `localhost`), sets a project
// up through its API, serves a tiny test app (built @authio/js) on another loopback
// origin, and serves the hosted pages: the binary's own /hosted/ with
// HOSTED_FROM_BINARY=1 (what scripts/web-check runs), else dist/ through `vite preview`
// proxying /v1. Debian's Chromium is used; Playwright's own browsers are never downloaded.
export default defineConfig({
  testDir: 'e2e',
  globalSetup: './e2e/global-setup.ts',
  // One server and project; the flows make users of their own but read one mail outbox.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1000, height: 900 },
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
    trace: 'off',
    screenshot: 'only-on-failure',
  },
});
