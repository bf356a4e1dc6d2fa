import { expect, test as base, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const SCREENSHOTS = process.env.SCREENSHOT_DIR ?? resolve(here, '../../../../target/screenshots');

export const env = {
  get dashboard(): string {
    return `${need('DASHBOARD_ORIGIN')}/dashboard/`;
  },
  get api(): string {
    return need('AUTHIO_ORIGIN');
  },
  get token(): string {
    return need('AUTHIO_CONSOLE_TOKEN');
  },
  get mailDir(): string {
    return need('AUTHIO_MAIL_DIR');
  },
};

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run through playwright.config.ts (global-setup.ts)`);
  return v;
}

interface Fixtures {
  /** Console errors a test provokes on purpose (matched by substring); any other fails the test. */
  allowedConsoleErrors: string[];
}

/**
 * `page` fails the test on any console error or uncaught page error that the test did
 * not declare in `allowedConsoleErrors`.
 */
export const test = base.extend<Fixtures>({
  allowedConsoleErrors: [[], { option: true }],
  page: async ({ page, allowedConsoleErrors }, use) => {
    const errors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`console.error: ${msg.text()} (${msg.location().url})`);
    });
    page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
    await use(page);
    const unexpected = errors.filter((e) => !allowedConsoleErrors.some((a) => e.includes(a)));
    expect(unexpected, 'browser console errors').toEqual([]);
  },
});

export { expect };

/** Open the dashboard signed in with the console token (the `#token=` fragment). */
export async function signIn(page: Page, route = '/', token = env.token): Promise<void> {
  await page.goto(`${env.dashboard}#token=${token}`);
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await expect(page.getByText('owner@example.com')).toBeVisible();
  if (route !== '/') await page.goto(`${env.dashboard}#${route}`);
}

/** A full-page screenshot in target/screenshots/. */
export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Every visible form control has a label and every button or link a name. */
export async function expectLabelled(page: Page): Promise<void> {
  const unnamed = await page.evaluate(() => {
    const bad: string[] = [];
    const visible = (el: Element) => (el as HTMLElement).offsetParent !== null || el === document.activeElement;
    for (const el of document.querySelectorAll('input, select, textarea')) {
      const c = el as HTMLInputElement;
      if (c.type === 'hidden' || !visible(c)) continue;
      const named = (c.labels?.length ?? 0) > 0 || c.getAttribute('aria-label') || c.getAttribute('aria-labelledby');
      if (!named) bad.push(c.outerHTML.slice(0, 120));
    }
    for (const el of document.querySelectorAll('button, a[href]')) {
      if (!visible(el)) continue;
      if (!(el.textContent ?? '').trim() && !el.getAttribute('aria-label')) bad.push(el.outerHTML.slice(0, 120));
    }
    return bad;
  });
  expect(unnamed, 'controls without an accessible name').toEqual([]);
}

let counter = 0;
/** A name no other test run uses. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix} ${Date.now().toString(36)}${counter}`;
}
