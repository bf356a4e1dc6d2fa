import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { env, expect, expectLabelled, shot, signIn, test, unique } from './fixtures';
import type { Page } from '@playwright/test';

const CHECKLISTS = {
  b2b: ['Create an organization', 'Set up SSO'],
  flat: ['Invite the first user'],
  b2c: ['Add a social provider', 'Customize branding'],
} as const;

const TITLES = { b2b: 'B2B', flat: 'Flat', b2c: 'B2C' } as const;

type Mode = keyof typeof TITLES;

/** Create a tenant through the wizard; it becomes the active tenant and home shows it. */
async function createTenant(page: Page, mode: Mode, name: string, screenshots = false): Promise<void> {
  await nav(page, 'New tenant').click();
  await expect(page.getByRole('heading', { level: 1, name: 'New tenant' })).toBeVisible();
  await expect(page.getByText('Step 1 of 2')).toBeVisible();
  const radio = page.getByRole('radio', { name: new RegExp(`^${TITLES[mode]}\\b`) });
  await radio.check();
  await expect(radio).toBeChecked();
  if (screenshots) {
    await expectLabelled(page);
    await shot(page, 'new-tenant-1-mode');
  }
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByText('Step 2 of 2')).toBeVisible();
  await page.getByLabel('Name', { exact: true }).fill(name);
  if (screenshots) {
    await expectLabelled(page);
    await shot(page, 'new-tenant-2-name');
  }
  await page.getByRole('button', { name: 'Create tenant' }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.getByLabel('Tenant')).toHaveValue(/^proj_/);
}

/** The code of the console sign-in mail (AUTHIO_MAIL_URL=file://… writes .eml files), if it came. */
function mailedCode(): string | null {
  for (const f of readdirSync(env.mailDir)) {
    // The text part is quoted-printable: join soft line breaks, decode =XX.
    const text = readFileSync(join(env.mailDir, f), 'utf8')
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    const m = text.match(/Or paste this code: (csl_[A-Za-z0-9_-]+)/);
    if (m) return m[1]!;
  }
  return null;
}

/** A link of the main navigation (pages link to each other too). */
function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

async function checklist(page: Page): Promise<string[]> {
  const items = page.locator('.checklist li .item-title');
  return items.allTextContents();
}

/** A console session of its own (the shared one must outlive a sign-out): by the API's email sign-in. */
async function ownConsoleToken(): Promise<string> {
  const post = (path: string, body: unknown) =>
    fetch(`${env.api}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  for (const f of readdirSync(env.mailDir)) rmSync(join(env.mailDir, f));
  expect((await post('/v1/session/sign-in', { email: 'owner@example.com' })).status).toBe(202);
  await expect.poll(mailedCode, { message: 'a sign-in mail in the mail directory' }).not.toBeNull();
  const code = mailedCode()!;
  for (const f of readdirSync(env.mailDir)) rmSync(join(env.mailDir, f));
  const res = await post('/v1/session/sign-in/verify', { token: code });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

test('signs in with a pasted console token and signs out', async ({ page }) => {
  const token = await ownConsoleToken();
  await page.goto(env.dashboard);
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to the Authio dashboard' })).toBeVisible();
  await expectLabelled(page);
  await shot(page, 'sign-in');

  await page.getByLabel('Console token or sign-in code').fill(token);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByText('owner@example.com')).toBeVisible();
  expect(await page.evaluate(() => sessionStorage.getItem('authio.console_token'))).toBe(token);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to the Authio dashboard' })).toBeVisible();
  expect(await page.evaluate(() => sessionStorage.getItem('authio.console_token'))).toBeNull();
  // The server ended the session: the token is refused from now on.
  const home = await fetch(`${env.api}/v1/session/home`, { headers: { authorization: `Bearer ${token}` } });
  expect(home.status).toBe(401);
});

test.describe('a token the server refuses', () => {
  // The browser logs the refused request itself; that one error is expected here.
  test.use({ allowedConsoleErrors: ['401 (Unauthorized)'] });

  test('is reported on the sign-in page', async ({ page }) => {
    await page.goto(env.dashboard);
    await page.getByLabel('Console token or sign-in code').fill('cs_not_a_real_token');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(page.getByRole('alert')).toHaveText(/not accepted/);
    await expect(page.getByLabel('Console token or sign-in code')).toHaveAttribute('aria-invalid', 'true');
  });
});

test('signs in with the code of an emailed link', async ({ page }) => {
  await page.goto(env.dashboard);
  await page.getByLabel('Email').fill('owner@example.com');
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await expect(page.getByText('A sign-in link is on its way to owner@example.com')).toBeVisible();

  await expect.poll(mailedCode, { message: 'a sign-in mail in the mail directory' }).not.toBeNull();
  const code = mailedCode()!;

  // The link's code, as a link to the dashboard would carry it: ?token=csl_…
  await page.goto(`${env.dashboard}?token=${code}`);
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await expect(page.getByText('owner@example.com')).toBeVisible();
  expect(page.url()).not.toContain('csl_');
});

test('creates a tenant in each mode and shows the checklist of that mode', async ({ page }) => {
  await signIn(page);
  const names: Partial<Record<Mode, string>> = {};
  for (const mode of ['b2b', 'flat', 'b2c'] as const) {
    const name = unique(`${TITLES[mode]} tenant`);
    names[mode] = name;
    await createTenant(page, mode, name, mode === 'b2b');
    await expect(page.getByTestId('tenant-mode')).toHaveText(TITLES[mode]);
    expect(await checklist(page)).toEqual([...CHECKLISTS[mode]]);
    await expect(page.locator('.checklist li[data-done="true"]')).toHaveCount(0);
    await expectLabelled(page);
    await shot(page, `home-${mode}`);
  }

  // The tenant picker selects another tenant (POST …/select), and home follows it.
  await page.getByLabel('Tenant').selectOption({ label: names.b2b! });
  await expect(page.getByRole('heading', { level: 1, name: names.b2b! })).toBeVisible();
  await expect(page.getByTestId('tenant-mode')).toHaveText('B2B');
  expect(await checklist(page)).toEqual([...CHECKLISTS.b2b]);
});

test('b2b: an organization disables the switch to flat, with the reason as a tooltip', async ({ page }) => {
  // A console session of its own: this test signs out at its end.
  await signIn(page, '/', await ownConsoleToken());
  const tenantName = unique('Acme SaaS');
  await createTenant(page, 'b2b', tenantName);

  await nav(page, 'Organizations').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Organizations' })).toBeVisible();
  await expect(page.getByText('0 organizations in')).toBeVisible();
  await expectLabelled(page);
  await shot(page, 'organizations-b2b-connect');
  await page.getByRole('button', { name: 'Create a dashboard key' }).click();
  await expect(page.getByText('No organizations yet.')).toBeVisible();
  await page.getByLabel('Name', { exact: true }).fill('Globex');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Created Globex.' })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'Globex', exact: true })).toBeVisible();
  await expect(page.getByText('1 organization in')).toBeVisible();
  await expectLabelled(page);
  await shot(page, 'organizations-b2b');

  // The home checklist now has its first item done.
  await nav(page, 'Home').click();
  await expect(page.locator('.checklist li[data-item="create_organization"]')).toHaveAttribute('data-done', 'true');
  await expect(page.getByText('1 of 2 done')).toBeVisible();

  await nav(page, 'Settings').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
  const flat = page.getByRole('radio', { name: /^Flat\b/ });
  const b2c = page.getByRole('radio', { name: /^B2C\b/ });
  await expect(page.getByRole('radio', { name: /^B2B\b/ })).toBeChecked();
  await expect(flat).toBeDisabled();
  await expect(b2c).toBeDisabled();
  await expect(flat).toHaveAccessibleDescription(/Delete the 1 organization first/);
  const card = page.locator('.mode-card[data-mode="flat"]');
  const tooltip = card.getByRole('tooltip');
  await expect(tooltip).toBeHidden();
  await card.hover();
  await expect(tooltip).toBeVisible();
  await expect(tooltip).toHaveText('Delete the 1 organization first');
  await expect(page.locator('#mode-blocked-note')).toContainText('Delete the 1 organization first');
  await expectLabelled(page);
  await shot(page, 'settings-switch-disabled');

  // Delete the organization: the switch opens, and the tenant goes flat.
  await nav(page, 'Organizations').click();
  await page.getByRole('button', { name: 'Delete Globex' }).click();
  await expect(page.getByRole('button', { name: 'Confirm delete Globex' })).toBeFocused();
  await page.getByRole('button', { name: 'Confirm delete Globex' }).click();
  await expect(page.getByText('No organizations yet.')).toBeVisible();

  await nav(page, 'Settings').click();
  await expect(flat).toBeEnabled();
  await flat.check();
  await page.getByRole('button', { name: 'Switch to Flat' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'The tenant is now in Flat mode.' })).toBeVisible();
  await nav(page, 'Home').click();
  expect(await checklist(page)).toEqual([...CHECKLISTS.flat]);
  await nav(page, 'Organizations').click();
  await expect(page.getByRole('heading', { name: 'Organizations are off in this tenant' })).toBeVisible();

  // Signing out revokes the key the dashboard created for the Organizations page (seen
  // from the operator's other, shared session, in the same tenant).
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to the Authio dashboard' })).toBeVisible();
  await signIn(page);
  await page.getByLabel('Tenant').selectOption({ label: tenantName });
  await expect(page.getByRole('heading', { level: 1, name: tenantName })).toBeVisible();
  await nav(page, 'API keys').click();
  const dashboardKey = page.getByRole('row').filter({ hasText: 'Dashboard (browser tab)' });
  await expect(dashboardKey).toContainText('Revoked');
});

test('flat: the Organizations page shows a banner instead of a table', async ({ page }) => {
  await signIn(page);
  await createTenant(page, 'flat', unique('Flat app'));
  await nav(page, 'Organizations').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Organizations' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Organizations are off in this tenant' })).toBeVisible();
  await expect(page.getByRole('table')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Create a dashboard key' })).toHaveCount(0);
  await expectLabelled(page);
  await shot(page, 'organizations-flat');

  // Settings: nothing blocks leaving flat.
  await nav(page, 'Settings').click();
  await expect(page.getByRole('radio', { name: /^Flat\b/ })).toBeChecked();
  for (const m of ['B2B', 'B2C']) await expect(page.getByRole('radio', { name: new RegExp(`^${m}\\b`) })).toBeEnabled();
  await expect(page.getByRole('tooltip')).toHaveCount(0);
  await shot(page, 'settings');
});

test('API keys: the secret is shown once, and a revoked key stops working', async ({ page, request }) => {
  await signIn(page);
  await createTenant(page, 'b2b', unique('Keys tenant'));
  await nav(page, 'API keys').click();
  await expect(page.getByRole('heading', { level: 1, name: 'API keys' })).toBeVisible();
  await expect(page.getByText('No keys yet.')).toBeVisible();

  await page.getByLabel('Name', { exact: true }).fill('Backend');
  await page.getByRole('radio', { name: 'Test' }).check();
  await page.getByRole('button', { name: 'Create key' }).click();
  const secretField = page.getByLabel('Secret key', { exact: true });
  await expect(secretField).toHaveValue(/^sk_test_/);
  await expect(page.getByRole('heading', { name: /Copy the secret of “Backend” now/ })).toBeFocused();
  const secret = await secretField.inputValue();
  await expect(page.getByLabel('Publishable key', { exact: true })).toHaveValue(/^pk_test_/);
  await expectLabelled(page);
  await shot(page, 'api-keys-secret-once');

  // The secret works against the project API …
  const ok = await request.get(`${env.api}/v1/organizations`, { headers: { authorization: `Bearer ${secret}` } });
  expect(ok.status()).toBe(200);

  // … and once dismissed it is nowhere on the page: the list shows its last four only.
  await page.getByRole('button', { name: 'I have copied it' }).click();
  await expect(secretField).toHaveCount(0);
  const row = page.getByRole('row').filter({ hasText: 'Backend' });
  await expect(row).toContainText(`sk_test_…${secret.slice(-4)}`);
  await expect(row).toContainText('Active');
  expect(await page.content()).not.toContain(secret);
  await page.reload();
  await expect(page.getByRole('row').filter({ hasText: 'Backend' })).toBeVisible();
  expect(await page.content()).not.toContain(secret);
  await shot(page, 'api-keys');

  await row.getByRole('button', { name: 'Revoke Backend' }).click();
  await row.getByRole('button', { name: 'Confirm revoke Backend' }).click();
  await expect(row).toContainText('Revoked');
  await expect(row.getByRole('button')).toHaveCount(0);
  const refused = await request.get(`${env.api}/v1/organizations`, { headers: { authorization: `Bearer ${secret}` } });
  expect(refused.status()).toBe(401);
});

test('the wizard works from the keyboard alone', async ({ page }) => {
  await signIn(page, '/tenants/new');
  await expect(page.getByRole('heading', { level: 1, name: 'New tenant' })).toBeVisible();
  await page.getByRole('radio', { name: /^B2B\b/ }).focus();
  await page.keyboard.press('ArrowDown');
  await expect(page.getByRole('radio', { name: /^Flat\b/ })).toBeChecked();
  await page.keyboard.press('ArrowDown');
  await expect(page.getByRole('radio', { name: /^B2C\b/ })).toBeChecked();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'Next' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Name your tenant' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByLabel('Name', { exact: true })).toBeFocused();
  const name = unique('Keyboard shop');
  await page.keyboard.type(name);
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.getByTestId('tenant-mode')).toHaveText('B2C');
});
