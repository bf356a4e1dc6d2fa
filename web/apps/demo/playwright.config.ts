import { defineConfig } from '@playwright/test';

// `npm run e2e` builds dist/, then global-setup.ts starts the real Authio server, sets up
// a project through its API and serves dist/ with `vite preview` (proxying /v1), and the
// flows drive two tabs of one browser context in Debian's Chromium (Playwright's own
// browsers are never downloaded; CHROMIUM_PATH overrides the path).
export default defineConfig({
  testDir: 'e2e',
  globalSetup: './e2e/global-setup.ts',
  // One server, one project; each flow has a user of its own, but the flows are short.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  projects: [
    // The flows (npm run e2e, scripts/web-check): must pass. Reproductions of SDK bugs
    // found here become flows once fixed (late-answers.spec.ts, lock-handover.spec.ts).
    { name: 'flows' },
  ],
  outputDir: 'test-results',
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 900, height: 1100 },
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
    trace: 'off',
    screenshot: 'only-on-failure',
  },
});
