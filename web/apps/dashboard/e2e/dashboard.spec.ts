import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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

// ---------------------------------------------------------------- project pages

/** The active tenant's id (the header's tenant picker holds it). */
async function activeTenant(page: Page): Promise<string> {
  const id = await page.getByLabel('Tenant').inputValue();
  expect(id).toMatch(/^proj_/);
  return id;
}

interface SetupKey {
  secret: string;
  publishable_key: string;
}

/** A test key of the tenant for the test's own API calls (made with the shared console session). */
async function setupKey(tenantId: string): Promise<SetupKey> {
  const res = await fetch(`${env.api}/v1/session/tenants/${tenantId}/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${env.token}` },
    body: JSON.stringify({ name: 'e2e setup', environment: 'test' }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as SetupKey;
}

/** A project call with the setup key; the answer's JSON (a 2xx is required). */
async function call<T = { id: string }>(key: SetupKey, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${env.api}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key.secret}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  expect(res.ok, `${method} ${path} answered ${res.status} ${text}`).toBe(true);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** An end-user sign-in (one `session.created`): a sign-in token, traded with the publishable key. */
async function signInUser(key: SetupKey, userId: string): Promise<void> {
  const { token } = await call<{ token: string }>(key, 'POST', '/v1/sign-in-tokens', { user_id: userId });
  const res = await fetch(`${env.api}/v1/auth/sign-in-tokens/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'authio-publishable-key': key.publishable_key },
    body: JSON.stringify({ token }),
  });
  expect(res.status).toBe(200);
}

function uniqueEmail(prefix: string): string {
  return `${unique(prefix).replace(/\s+/g, '-').toLowerCase()}@example.com`;
}

/** Rows of a table's body. */
function bodyRows(page: Page) {
  return page.locator('main table tbody tr');
}

test('users: finds a user by email and shows their memberships', async ({ page }) => {
  await signIn(page);
  await createTenant(page, 'b2b', unique('Users tenant'));
  const key = await setupKey(await activeTenant(page));
  const email = uniqueEmail('ann');
  const ann = await call(key, 'POST', '/v1/users', { email, first_name: 'Ann', last_name: 'Lee' });
  await call(key, 'POST', '/v1/users', { email: uniqueEmail('bob') });
  const umbrella = await call(key, 'POST', '/v1/organizations', { name: 'Umbrella' });
  await call(key, 'POST', '/v1/organizations', { name: 'Hooli' });
  await call(key, 'POST', '/v1/memberships', { user_id: ann.id, organization_id: umbrella.id, role: 'admin' });

  await nav(page, 'Users').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Users' })).toBeVisible();
  await expect(nav(page, 'Users')).toHaveAttribute('aria-current', 'page');
  await expect(page.getByRole('heading', { name: 'Connect to the user API' })).toBeVisible();
  await expectLabelled(page);
  await page.getByRole('button', { name: 'Create a dashboard key' }).click();
  await expect(bodyRows(page)).toHaveCount(2);

  // The search: an exact address, whatever its case; it rides in the URL.
  // From the keyboard: type, then Enter.
  await page.getByLabel('Email', { exact: true }).first().focus();
  await page.keyboard.type(email.toUpperCase());
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/#\/users\?email=/);
  await expect(page.getByRole('heading', { name: `Users with the email ${email.toUpperCase()}` })).toBeVisible();
  await expect(bodyRows(page)).toHaveCount(1);
  await expect(bodyRows(page).first()).toContainText('Ann Lee');
  await expectLabelled(page);
  await shot(page, 'users');

  await page.getByRole('link', { name: email }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: email })).toBeFocused();
  await expect(nav(page, 'Users')).toHaveAttribute('aria-current', 'page');
  const umbrellaRow = page.getByRole('row').filter({ hasText: 'Umbrella' });
  await expect(umbrellaRow.getByRole('cell').nth(1)).toHaveText('admin');
  await expect(umbrellaRow.getByRole('cell').nth(2)).toHaveText('active');

  // Add a membership from the page: Hooli, as member.
  await page.getByLabel('Organization', { exact: true }).selectOption({ label: 'Hooli' });
  await page.getByLabel('Role', { exact: true }).selectOption('member');
  await page.getByRole('button', { name: 'Add membership' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Added ${email} to Hooli as member.` })).toBeVisible();
  const hooliRow = page.getByRole('row').filter({ hasText: 'Hooli' });
  await expect(hooliRow.getByRole('cell').nth(1)).toHaveText('member');
  await expect(hooliRow.getByRole('cell').nth(2)).toHaveText('active');
  await expect(page.getByText('The user is in every organization listed.')).toBeVisible();
  await expectLabelled(page);
  await shot(page, 'user-detail');

  // Back keeps the search.
  await page.goBack();
  await expect(page.getByLabel('Email', { exact: true }).first()).toHaveValue(email.toUpperCase());
  await expect(bodyRows(page)).toHaveCount(1);

  // Cursor paging: 12 users, 10 a page.
  await Promise.all(
    Array.from({ length: 10 }, (_, i) => call(key, 'POST', '/v1/users', { email: uniqueEmail(`user${i}`) })),
  );
  await page.getByRole('button', { name: 'Show all users' }).click();
  await page.getByLabel('Per page').selectOption('10');
  await expect(page).toHaveURL(/per_page=10/);
  await expect(bodyRows(page)).toHaveCount(10);
  const pages = page.getByRole('group', { name: 'User pages' });
  await expect(pages).toContainText('Page 1 · rows 1–10');
  await expect(pages.getByRole('button', { name: 'Previous page' })).toBeDisabled();
  await pages.getByRole('button', { name: 'Next page' }).click();
  await expect(pages).toContainText('Page 2 · rows 11–12');
  await expect(bodyRows(page)).toHaveCount(2);
  await expect(pages.getByRole('button', { name: 'Next page' })).toBeDisabled();
  await pages.getByRole('button', { name: 'Previous page' }).click();
  await expect(pages).toContainText('Page 1 · rows 1–10');
});

/** A webhook receiver on 127.0.0.1 that answers `status` and keeps what it got. */
async function receiver(): Promise<{
  url: string;
  status: number;
  got: Array<{ headers: Record<string, string | string[] | undefined>; body: string }>;
  close: () => Promise<void>;
}> {
  const state = {
    url: '',
    status: 500,
    got: [] as Array<{ headers: Record<string, string | string[] | undefined>; body: string }>,
    close: async () => undefined as void,
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      state.got.push({ headers: req.headers, body });
      res.writeHead(state.status).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/authio`;
  state.close = () => new Promise((ok) => server.close(() => ok()));
  return state;
}

test('webhooks: the secret is shown once, and a failed delivery is retried', async ({ page }) => {
  const hook = await receiver();
  try {
    await signIn(page);
    await createTenant(page, 'b2b', unique('Hooks tenant'));
    const key = await setupKey(await activeTenant(page));

    await nav(page, 'Webhooks').click();
    await expect(page.getByRole('heading', { level: 1, name: 'Webhooks' })).toBeVisible();
    await page.getByRole('button', { name: 'Create a dashboard key' }).click();
    await expect(page.getByText('No webhook endpoints yet.')).toBeVisible();

    await page.getByLabel('URL', { exact: true }).fill(hook.url);
    await page.getByLabel('Events', { exact: true }).fill('organization.*');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    const secretField = page.getByLabel('Signing secret', { exact: true });
    await expect(secretField).toHaveValue(/^whsec_/);
    await expect(page.getByRole('heading', { name: `Copy the signing secret of ${hook.url} now` })).toBeFocused();
    const secret = await secretField.inputValue();
    const row = page.getByRole('row').filter({ hasText: hook.url });
    await expect(row).toContainText('organization.*');
    await expect(row).toContainText('Enabled');
    await expectLabelled(page);
    await shot(page, 'webhooks-secret-once');

    await page.getByRole('button', { name: 'I have copied it' }).click();
    await expect(secretField).toHaveCount(0);
    expect(await page.content()).not.toContain(secret);
    await page.reload();
    await page.getByRole('button', { name: 'Create a dashboard key' }).click(); // a reload forgets the key
    await expect(row).toContainText('Enabled');
    expect(await page.content()).not.toContain(secret);
    await shot(page, 'webhooks');

    // An event for the endpoint, which the receiver refuses: two tries (the run's schedule), then failed.
    hook.status = 500;
    await call(key, 'POST', '/v1/organizations', { name: 'Initech' });
    await row.getByRole('link', { name: hook.url }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Webhook endpoint' })).toBeVisible();
    const failed = page.locator('tr[data-status="failed"]');
    await expect(async () => {
      await page.getByRole('button', { name: 'Refresh deliveries' }).click();
      await expect(failed).toHaveCount(1, { timeout: 1000 });
    }).toPass({ timeout: 20_000 });
    await expect(failed).toContainText('organization.created');
    await expect(failed).toContainText('Failed after 2 tries');
    await expect(failed).toContainText('HTTP 500');
    await failed.getByText('2 attempts').click();
    await expect(failed.locator('.attempts li')).toHaveCount(2);

    // What the receiver got is signed with the secret the page showed (Standard Webhooks).
    const first = hook.got[0]!;
    const [id, ts, sig] = ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => String(first.headers[h]));
    const hmacKey = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', hmacKey).update(`${id}.${ts}.${first.body}`).digest('base64');
    expect(sig!.split(' ')).toContain(`v1,${expected}`);
    await expectLabelled(page);
    await shot(page, 'webhook-deliveries');

    // The home tile counts it.
    await nav(page, 'Home').click();
    await expect(page.getByTestId('kpi-failed-deliveries')).toHaveText('1');
    await page.goBack();
    await expect(failed).toHaveCount(1);

    // Retry, now that the receiver accepts: the page follows the delivery until it is delivered.
    hook.status = 204;
    await failed.getByRole('button', { name: /^Retry/ }).focus();
    await page.keyboard.press('Enter');
    await expect(page.getByRole('status').filter({ hasText: 'Retry queued' })).toBeVisible();
    const delivered = page.locator('tr[data-status="delivered"]');
    await expect(delivered).toHaveCount(1);
    await expect(delivered).toContainText('Delivered');
    await expect(delivered).toContainText('HTTP 204');
    await expect(delivered.getByRole('button', { name: /^Retry/ })).toHaveCount(0);

    // The status filter rides in the URL.
    await page.getByLabel('Status', { exact: true }).selectOption('failed');
    await expect(page).toHaveURL(/\?status=failed/);
    await expect(page.getByText('No failed deliveries.')).toBeVisible();
    await page.getByLabel('Status', { exact: true }).selectOption('');

    // Disable and enable, then delete.
    await page.getByRole('button', { name: 'Disable endpoint' }).click();
    await expect(page.locator('.facts')).toContainText('Disabled (manual)');
    await page.getByRole('button', { name: 'Enable endpoint' }).click();
    await expect(page.locator('.facts')).toContainText('Enabled');
    await page.getByRole('button', { name: `Delete ${hook.url}` }).click();
    await page.getByRole('button', { name: `Confirm delete ${hook.url}` }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Webhooks' })).toBeVisible();
    await expect(page.getByText('No webhook endpoints yet.')).toBeVisible();
  } finally {
    await hook.close();
  }
});

test('audit log: shows the organization creation, filters by action and pages older', async ({ page }) => {
  await signIn(page);
  await createTenant(page, 'b2b', unique('Audit tenant'));
  await nav(page, 'Audit log').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Audit log' })).toBeVisible();
  await page.getByRole('button', { name: 'Create a dashboard key' }).click();
  await expect(page.locator('tr[data-type="tenant.created"]')).toHaveCount(1);

  // The Organizations page uses the same dashboard key (no second "Create" step).
  await nav(page, 'Organizations').click();
  await expect(page.getByText('No organizations yet.')).toBeVisible();
  await page.getByLabel('Name', { exact: true }).fill('Globex');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await expect(page.getByRole('cell', { name: 'Globex', exact: true })).toBeVisible();

  await nav(page, 'Audit log').click();
  const created = page.locator('tr[data-type="organization.created"]');
  await expect(created).toHaveCount(1);
  const cells = created.getByRole('cell');
  await expect(cells.nth(0)).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
  await expect(cells.nth(1)).toHaveText('organization.created');
  await expect(cells.nth(2)).toContainText(/api_key\s+key_/);
  await expect(cells.nth(3)).toContainText(/organization org_/);
  const orgId = (await cells.nth(4).textContent())!.trim();
  expect(orgId).toMatch(/^org_/);
  await expectLabelled(page);
  await shot(page, 'audit-log');

  // Filter by action (the URL keeps it).
  await page.getByLabel('Action', { exact: true }).fill('organization.created');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/action=organization\.created/);
  await expect(page.getByRole('heading', { name: 'Entries where action is organization.created' })).toBeVisible();
  await expect(bodyRows(page)).toHaveCount(1);
  await expect(bodyRows(page).first()).toHaveAttribute('data-type', 'organization.created');
  await expectLabelled(page);
  await shot(page, 'audit-log-filtered');

  // The actor's id in the list filters by that actor.
  await page.getByRole('button', { name: 'Clear filters' }).click();
  const keyId = (await created.getByRole('cell').nth(2).locator('code').textContent())!.trim();
  await created.getByRole('link', { name: `Entries by ${keyId}` }).click();
  await expect(page.getByRole('heading', { name: `Entries where actor is ${keyId}` })).toBeVisible();
  await expect(page.getByLabel('Actor id', { exact: true })).toHaveValue(keyId);
  await expect(page.locator('tr[data-type="organization.created"]')).toHaveCount(1);
  await expect(page.locator('tr[data-type="tenant.created"]')).toHaveCount(0); // by the operator

  // By organization: the organization's own entries only.
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await page.getByLabel('Organization id', { exact: true }).fill(orgId);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page.getByRole('heading', { name: `Entries where organization is ${orgId}` })).toBeVisible();
  for (const r of await bodyRows(page).all()) await expect(r.getByRole('cell').nth(4)).toHaveText(orgId);

  // Older and newer pages, two entries a page.
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await expect(page.getByRole('heading', { name: 'All entries' })).toBeVisible();
  await page.getByLabel('Per page').selectOption('10');
  await expect(page).toHaveURL(/per_page=10/);
  await expect(bodyRows(page).nth(3)).toBeVisible(); // at least four entries
  // Two a page (not on the select's list, but the API takes any limit from 1 to 100).
  await page.evaluate(() => (window.location.hash = '#/audit?per_page=2'));
  await expect(page.getByLabel('Per page')).toHaveValue('2');
  const pages = page.getByRole('group', { name: 'Audit log pages' });
  await expect(pages).toContainText('Page 1 · rows 1–2');
  const newest = await bodyRows(page).first().getAttribute('data-event-id');
  await pages.getByRole('button', { name: 'Older' }).click();
  await expect(pages).toContainText('Page 2 · rows 3–4');
  await expect(bodyRows(page)).toHaveCount(2);
  expect(await bodyRows(page).first().getAttribute('data-event-id')).not.toBe(newest);
  await pages.getByRole('button', { name: 'Newer' }).click();
  await expect(pages).toContainText('Page 1 · rows 1–2');
  await expect(bodyRows(page).first()).toHaveAttribute('data-event-id', newest!);
});

test('home: KPI tiles count users, organizations, sign-ins and failed deliveries', async ({ page }) => {
  await signIn(page);
  const name = unique('Figures tenant');
  await createTenant(page, 'b2b', name);
  const kpis = page.getByRole('region', { name: 'At a glance' });
  await expect(kpis.getByRole('group', { name: 'Organizations' })).toContainText('0');
  await expect(page.getByTestId('kpi-users')).toHaveCount(0);
  await expectLabelled(page);
  await shot(page, 'home-kpi-connect');

  await kpis.getByRole('button', { name: 'Create a dashboard key' }).click();
  await expect(page.getByTestId('kpi-users')).toHaveText('0');
  await expect(page.getByTestId('kpi-sign-ins')).toHaveText('0');
  await expect(page.getByTestId('kpi-failed-deliveries')).toHaveText('0');
  await expect(page.getByTestId('kpi-organizations')).toHaveText('0');

  const key = await setupKey(await activeTenant(page));
  const ann = await call(key, 'POST', '/v1/users', { email: uniqueEmail('kpi-ann') });
  await call(key, 'POST', '/v1/users', { email: uniqueEmail('kpi-bob') });
  await call(key, 'POST', '/v1/organizations', { name: 'Soylent' });
  await signInUser(key, ann.id);
  await signInUser(key, ann.id);

  await kpis.getByRole('button', { name: 'Refresh figures' }).click();
  await expect(page.getByTestId('kpi-users')).toHaveText('2');
  await expect(page.getByTestId('kpi-organizations')).toHaveText('1');
  await expect(page.getByTestId('kpi-sign-ins')).toHaveText('2');
  await expect(page.getByTestId('kpi-failed-deliveries')).toHaveText('0');
  const signIns = kpis.getByRole('group', { name: 'Sign-ins, last 24 h' });
  await expect(signIns).toContainText('Counts session.created audit events');
  await expect(kpis.getByRole('group', { name: 'Failed webhook deliveries' })).toContainText('across 0 endpoints');
  await expectLabelled(page);
  await shot(page, 'home-kpi');
});

/** `POST /oauth2/introspect` with client_secret_basic: the status tells whether the secret works. */
async function introspectStatus(clientId: string, secret: string): Promise<number> {
  const res = await fetch(`${env.api}/oauth2/introspect`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
    },
    body: 'token=not-a-token',
  });
  return res.status;
}

test('OAuth clients: register, the secret shown once, rotate, delete; an organization\'s SSO section', async ({ page }) => {
  await signIn(page);
  await createTenant(page, 'b2b', unique('OIDC tenant'));
  const key = await setupKey(await activeTenant(page));

  await nav(page, 'OAuth clients').click();
  await expect(page.getByRole('heading', { level: 1, name: 'OAuth clients' })).toBeVisible();
  await expect(page.getByLabel('Discovery URL', { exact: true })).toHaveValue(/^http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration$/);
  await page.getByRole('button', { name: 'Create a dashboard key' }).click();
  await expect(page.getByText('No OAuth clients yet.')).toBeVisible();

  // Register a confidential client: its secret is shown this once, and it works.
  const name = unique('Billing app');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Redirect URIs (one per line)').fill('https://billing.example.com/callback\nhttp://localhost:3000/callback');
  await expect(page.getByRole('checkbox', { name: 'openid (always)' })).toBeChecked();
  await expect(page.getByRole('checkbox', { name: 'openid (always)' })).toBeDisabled();
  await page.getByRole('checkbox', { name: 'profile' }).uncheck();
  await expectLabelled(page);
  await page.getByRole('button', { name: 'Register client' }).click();
  const secretField = page.getByLabel('Client secret', { exact: true });
  await expect(secretField).toHaveValue(/^ocs_/);
  await expect(page.getByRole('heading', { name: `Copy the client secret of ${name} now` })).toBeFocused();
  await expect(page.getByText('This is the only time the secret is shown.')).toBeVisible();
  const secret = await secretField.inputValue();
  const row = page.getByRole('row').filter({ hasText: name });
  await expect(row).toContainText('Confidential');
  await expect(row).toContainText('http://localhost:3000/callback');
  await expect(row.locator('.tag')).toHaveText(['openid', 'email', 'offline_access', 'organization']);
  const clientId = (await row.getAttribute('data-client-id'))!;
  expect(clientId).toMatch(/^oc_/);
  expect(await introspectStatus(clientId, secret)).toBe(200);
  await expectLabelled(page);
  await shot(page, 'oauth-clients-secret-once');

  await page.getByRole('button', { name: 'I have copied it' }).click();
  await expect(secretField).toHaveCount(0);
  expect(await page.content()).not.toContain(secret);

  // Rotate (confirmed): the new secret is shown once, and the old one stops at once.
  await row.getByRole('button', { name: `Rotate secret ${name}` }).click();
  await row.getByRole('button', { name: `Confirm rotate secret ${name}` }).click();
  await expect(secretField).toHaveValue(/^ocs_/);
  const rotated = await secretField.inputValue();
  expect(rotated).not.toBe(secret);
  await expect(page.getByRole('heading', { name: `Copy the new client secret of ${name} now` })).toBeFocused();
  expect(await introspectStatus(clientId, rotated)).toBe(200);
  expect(await introspectStatus(clientId, secret)).toBe(401);
  await page.getByRole('button', { name: 'I have copied it' }).click();
  await shot(page, 'oauth-clients');

  // Delete (confirmed).
  await row.getByRole('button', { name: `Delete ${name}` }).click();
  await row.getByRole('button', { name: `Confirm delete ${name}` }).click();
  await expect(page.getByText('No OAuth clients yet.')).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: `Deleted ${name}.` })).toBeVisible();
  expect(await introspectStatus(clientId, rotated)).toBe(401);

  // An organization's page has its SSO connections section (the dashboard key is shared by the tab's pages).
  const org = await call(key, 'POST', '/v1/organizations', { name: 'Globex' });
  await nav(page, 'Organizations').click();
  await page.getByRole('link', { name: 'Globex' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Globex' })).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`#/organizations/${org.id}$`));
  await expect(page.getByRole('heading', { level: 2, name: 'SSO connections' })).toBeVisible();
  await expect(page.getByText('No SSO connections yet.')).toBeVisible();
  await expect(page.getByLabel('Redirect URI to register at the identity provider')).toHaveValue(/\/v1\/auth\/sso\/callback$/);
  await expectLabelled(page);
  await shot(page, 'organization-sso');
});

test('social sign-in: adds a GitHub connection (no issuer), lists it with its protocol, deletes it', async ({ page }) => {
  await signIn(page);
  await createTenant(page, 'b2c', unique('Social tenant'));
  const key = await setupKey(await activeTenant(page));

  await nav(page, 'Social sign-in').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Social sign-in' })).toBeVisible();
  await expect(page.getByLabel('Callback URL to register at the provider')).toHaveValue(
    /^http:\/\/127\.0\.0\.1:\d+\/v1\/auth\/sso\/callback$/,
  );
  await expect(page.getByRole('button', { name: 'Copy the callback URL' })).toBeVisible();
  await page.getByRole('button', { name: 'Create a dashboard key' }).click();
  await expect(page.getByText('No social sign-in connections yet.')).toBeVisible();

  // The Microsoft presets fill the issuer and warn about xms_edov; GitHub needs no issuer (and no network).
  await page.getByRole('radio', { name: 'Microsoft (any work account)' }).check();
  await expect(page.getByLabel('Issuer', { exact: true })).toHaveValue('https://login.microsoftonline.com/common/v2.0');
  await expect(page.getByText(/xms_edov/)).toBeVisible();
  await page.getByRole('radio', { name: 'GitHub' }).check();
  await expect(page.getByText(/xms_edov/)).toHaveCount(0);
  const name = unique('GitHub');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await expect(page.getByLabel('GitHub Enterprise Server address (optional)')).toHaveValue('');
  await page.getByLabel('Client ID', { exact: true }).fill('Iv1.e2e0123456789ab');
  await page.getByLabel('Client secret', { exact: true }).fill('gh-e2e-secret-value');
  await expectLabelled(page);
  await page.getByRole('button', { name: 'Add connection' }).click();

  const row = page.getByRole('row').filter({ hasText: name });
  await expect(row).toHaveAttribute('data-protocol', 'github');
  await expect(row.getByRole('cell').nth(1)).toHaveText('GitHub');
  await expect(row).toContainText('Iv1.e2e0123456789ab');
  await expect(page.getByRole('status').filter({ hasText: `Added the connection ${name}` })).toBeVisible();
  expect(await page.content()).not.toContain('gh-e2e-secret-value');
  const id = (await row.getAttribute('data-connection-id'))!;
  const listed = await call<{ data: Array<{ id: string; protocol: string; organization_id: string | null }> }>(
    key,
    'GET',
    '/v1/connections',
  );
  expect(listed.data.find((c) => c.id === id)).toMatchObject({ protocol: 'github', organization_id: null });
  await shot(page, 'social-connections');

  // Delete (confirmed).
  await row.getByRole('button', { name: `Delete ${name}` }).click();
  await row.getByRole('button', { name: `Confirm delete ${name}` }).click();
  await expect(page.getByText('No social sign-in connections yet.')).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: `Deleted the connection ${name}.` })).toBeVisible();
  const after = await call<{ data: Array<{ id: string }> }>(key, 'GET', '/v1/connections');
  expect(after.data.map((c) => c.id)).not.toContain(id);
});

/**
 * A SAML identity provider's metadata with a real X.509 signing certificate, made now by
 * openssl (RSA 2048, self-signed, valid two days): an EntityDescriptor with an
 * IDPSSODescriptor, a signing KeyDescriptor and an HTTP-Redirect SingleSignOnService.
 * `withCertificate: false` leaves the KeyDescriptor out (metadata the server refuses).
 */
function idpMetadata(entityId: string, withCertificate = true): string {
  const dir = mkdtempSync(join(tmpdir(), 'authio-e2e-idp-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=test', '-days', '2',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { stdio: 'pipe' },
    );
    // PEM is the base64 of the DER between its armor lines.
    const der64 = readFileSync(join(dir, 'cert.pem'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'))
      .join('');
    expect(Buffer.from(der64, 'base64')[0], 'a DER SEQUENCE').toBe(0x30);
    const key = withCertificate
      ? `
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo>
        <ds:X509Data>
          <ds:X509Certificate>${der64}</ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>`
      : '';
    return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${entityId}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${key}
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test.describe('SAML connections', () => {
  // The refused metadata's 400 shows in the console as a failed resource load.
  test.use({ allowedConsoleErrors: ['the server responded with a status of 400'] });

  test('an organization adds a SAML connection from its IdP metadata; the URLs shown serve Authio\'s metadata', async ({ page }) => {
    await signIn(page);
    await createTenant(page, 'b2b', unique('SAML tenant'));
    const key = await setupKey(await activeTenant(page));
    const org = await call(key, 'POST', '/v1/organizations', { name: 'Initech' });
    const claimed = `t${Date.now().toString(36)}.initech.example`;
    await call(key, 'POST', `/v1/organizations/${org.id}/domains`, { domain: claimed });

    await nav(page, 'Organizations').click();
    await page.getByRole('button', { name: 'Create a dashboard key' }).click();
    await page.getByRole('link', { name: 'Initech' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Initech' })).toBeVisible();
    await expect(page.getByText('No SSO connections yet.')).toBeVisible();

    // The domain rule: nothing verified yet, so the form says so, with the pending domain's TXT record.
    const rule = page.locator('#connection-domain-rule');
    await expect(rule).toContainText('signs in only addresses in a domain this organization has verified');
    await expect(rule).toContainText('No domain of this organization is verified yet');
    await expect(rule).toContainText(`${claimed} is not verified yet: publish the TXT record _authio-challenge.${claimed}`);
    await expect(rule).toHaveClass(/notice/);

    // OpenID Connect is the default; SAML swaps its fields for the metadata.
    await expect(page.getByRole('radio', { name: 'OpenID Connect' })).toBeChecked();
    await page.getByRole('radio', { name: 'SAML 2.0' }).check();
    await expect(page.getByLabel('Issuer', { exact: true })).toHaveCount(0);
    await expect(page.getByLabel('Client secret', { exact: true })).toHaveCount(0);

    // Metadata the server refuses: its reason is shown on the metadata field.
    const name = unique('Initech SAML');
    const idpEntity = `https://idp.example/${Date.now().toString(36)}`;
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Identity provider metadata (XML)').fill(idpMetadata(idpEntity, false));
    await page.getByRole('button', { name: 'Add connection' }).click();
    await expect(page.getByRole('alert')).toContainText('The server said: ');
    await expect(page.getByRole('alert')).toContainText('no signing certificate');
    await expect(page.getByLabel('Identity provider metadata (XML)')).toHaveAttribute('aria-invalid', 'true');

    // The real metadata, read from a file.
    const metadata = idpMetadata(idpEntity);
    await page.getByLabel('Or read it from a file').setInputFiles({
      name: 'idp-metadata.xml',
      mimeType: 'application/xml',
      buffer: Buffer.from(metadata),
    });
    await expect(page.getByLabel('Identity provider metadata (XML)')).toHaveValue(metadata);
    await expect(page.getByText('Read idp-metadata.xml into the metadata field.')).toBeVisible();
    await page.getByLabel('Role for new members (optional)').fill('member');
    await expectLabelled(page);
    await shot(page, 'organization-saml-form');
    await page.getByRole('button', { name: 'Add connection' }).click();

    // The next step: the three values to register at the provider, focused.
    const next = page.getByRole('region', { name: `Register Authio at the identity provider of ${name}` });
    await expect(next.getByRole('heading', { level: 3 })).toBeFocused();
    const connId = (await next.getAttribute('data-created-connection'))!;
    expect(connId).toMatch(/^conn_/);
    const entityId = `${env.api}/v1/auth/saml/${connId}`;
    const acsUrl = `${env.api}/v1/auth/saml/acs`;
    const metadataUrl = `${entityId}/metadata`;
    await expect(next.getByLabel('Entity ID (audience)')).toHaveValue(entityId);
    await expect(next.getByLabel('ACS URL (HTTP-POST)')).toHaveValue(acsUrl);
    await expect(next.getByLabel('Metadata URL')).toHaveValue(metadataUrl);
    await expect(next).toContainText('paste the entity ID as its audience');
    await expect(page.getByRole('status').filter({ hasText: `Added the connection ${name} (${connId}).` })).toBeVisible();

    // The list: protocol, the provider's entity id, Authio's, and the values again.
    const row = page.locator(`tr[data-connection-id="${connId}"]`);
    await expect(row).toContainText('SAML 2.0');
    await expect(row).toContainText(idpEntity);
    await expect(row).toContainText(entityId);
    await expect(row).toContainText('member');
    const detail = page.locator(`tr[data-saml-of="${connId}"]`);
    await expect(detail.getByLabel('Entity ID (audience)')).toHaveValue(entityId);
    await expect(detail.getByLabel('ACS URL (HTTP-POST)')).toHaveValue(acsUrl);
    await expect(detail.getByLabel('Metadata URL')).toHaveValue(metadataUrl);
    await expectLabelled(page);
    await shot(page, 'organization-saml');

    // The metadata URL shown is Authio's service-provider metadata, public, naming the entity id and the ACS.
    const res = await fetch(await detail.getByLabel('Metadata URL').inputValue());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/samlmetadata+xml');
    const sp = await res.text();
    expect(sp).toContain(`entityID="${entityId}"`);
    expect(sp).toContain(acsUrl);
    // The API agrees.
    const listed = await call<{ data: Array<{ id: string; protocol: string; issuer: string }> }>(
      key,
      'GET',
      `/v1/organizations/${org.id}/connections`,
    );
    expect(listed.data).toEqual([expect.objectContaining({ id: connId, protocol: 'saml', issuer: idpEntity })]);

    await next.getByRole('button', { name: 'Done' }).click();
    await expect(next).toHaveCount(0);

    // Deleted (confirmed): its metadata is gone too.
    await row.getByRole('button', { name: `Delete ${name}` }).click();
    await row.getByRole('button', { name: `Confirm delete ${name}` }).click();
    await expect(page.getByText('No SSO connections yet.')).toBeVisible();
    expect((await fetch(metadataUrl)).status).toBe(404);
  });
});
