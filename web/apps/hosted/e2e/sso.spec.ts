// SSO started by the hosted pages themselves, through a REAL upstream OpenID Connect
// provider (scripts/sso/idp.mjs: node oidc-provider, started by global-setup.ts): an
// organization that verified acme.example connects the provider and admits only SSO
// (policy allowed_methods ["sso"]). An OAuth client's user of that domain signs in
// through /oauth2/authorize → the hosted sign-in page (its organization's sign-in alone)
// → the provider's login and consent → Authio's callback → /hosted/sso (the handoff
// code redeemed with the verifier the tab kept) → the authorization goes on, and the
// client gets a code for the organization. The org-admin page signs an admin in the
// same way. A code the tab did not ask for is never redeemed.
import type { Page, Request } from '@playwright/test';
import {
  api,
  backend,
  claims,
  expect,
  expectLabelled,
  hostedSignIn,
  mailed,
  organization,
  pkce,
  redeemCode,
  setup,
  shot,
  test,
  unique,
  type Org,
} from './fixtures';

const s = setup();
const SSO = 'Continue with your organization’s sign-in';
const DOMAIN = 'acme.example';

/** The SSO organization (global-setup.ts): acme.example verified, the provider connected, SSO only. */
const org: Org = s.ssoOrganization;

/** At the provider (oidc-provider's own login and consent pages): sign in as `account`, consent. */
async function atTheProvider(page: Page, account: string): Promise<void> {
  await page.waitForURL((u) => u.href.startsWith(s.idp.issuer));
  await page.locator('input[name="login"]').fill(account);
  await page.locator('input[name="password"]').fill('any');
  await page.locator('form [type="submit"]').first().click();
  await page.waitForURL((u) => u.href.startsWith(s.idp.issuer) && u.pathname.startsWith('/interaction/'));
  await page.locator('form [type="submit"]').first().click();
}

/** Every address the tab was at: a handoff code must never be one of them. */
function addresses(page: Page): string[] {
  const seen: string[] = [];
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) seen.push(f.url());
  });
  return seen;
}

// The provider's own pages load a web font and a favicon it does not have.
test.use({ allowedConsoleErrors: ['fonts.googleapis.com', `${s.idp.issuer}/favicon.ico`] });

test('an OAuth client’s user whose organization requires SSO signs in at its identity provider and comes back to the client', async ({
  page,
}) => {
  const redirectUri = `${s.app}/oauth/callback`;
  const client = await backend<{ id: string }>('POST', '/v1/oauth-clients', {
    name: 'SSO Demo Client',
    client_type: 'public',
    redirect_uris: [redirectUri],
  });
  const { verifier, challenge } = pkce();
  const state = unique('state-');
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: client.id,
    redirect_uri: redirectUri,
    scope: 'openid email profile organization',
    state,
    nonce: unique('nonce-'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    login_hint: `grace@${DOMAIN}`,
  });
  const seen = addresses(page);
  await page.goto(`${s.hosted}/oauth2/authorize?${q}`);
  await page.waitForURL(/\/hosted\/sign-in\?/);

  // Only the organization's sign-in: no link, no passkey.
  const sso = page.getByRole('button', { name: SSO });
  await expect(sso).toBeVisible();
  await expect(page.getByText(`Your organization (${DOMAIN}) signs you in only through its own identity provider`)).toBeVisible();
  await expect(page.getByRole('button', { name: 'Email me a sign-in link' })).toHaveCount(0);
  await expectLabelled(page);
  await shot(page, 'sso-oauth-sign-in');

  const back = page.waitForRequest((r: Request) => r.url().startsWith(`${redirectUri}?`) && r.resourceType() === 'document');
  await sso.click();
  await atTheProvider(page, 'grace');
  const landed = new URL((await back).url());
  expect(landed.searchParams.get('state')).toBe(state);
  const code = landed.searchParams.get('code')!;
  expect(code).toMatch(/^oac_/);

  // The server returned to /hosted/sso with the handoff code, and the page took it out of
  // the address (replacing the history entry) before going on.
  const returns = seen.filter((u) => new URL(u).pathname === '/hosted/sso');
  expect(returns.map((u) => new URL(u).searchParams.has('code'))).toEqual([true, false]);
  expect(seen.slice(seen.indexOf(returns[1]!)).filter((u) => u.includes('hc_'))).toEqual([]);

  const r = await redeemCode(client.id, redirectUri, code, verifier);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  const tokens = r.body as { id_token: string };
  // A new user, made a member just in time, signed in to the client in the organization.
  expect(claims(tokens.id_token)).toMatchObject({ email: `grace@${DOMAIN}`, email_verified: true, org_id: org.id, org_role: 'member' });
});

test('the org-admin page signs an admin in through the organization’s identity provider', async ({ page }) => {
  const ada = await backend<{ id: string }>('POST', '/v1/users', { email: `ada@${DOMAIN}`, email_verified: true });
  await backend('POST', '/v1/memberships', { user_id: ada.id, organization_id: org.id, role: 'admin' });

  await page.goto(hostedSignIn({}, 'org-admin'));
  await page.getByLabel('Email', { exact: true }).fill(`ada@${DOMAIN}`);
  const sso = page.getByRole('button', { name: SSO });
  await expect(sso).toBeVisible();
  await sso.click();
  await atTheProvider(page, 'ada');
  await page.waitForURL(/\/hosted\/org-admin\?/);
  expect(page.url()).not.toContain('hc_');
  await expect(page.getByRole('heading', { level: 1, name: org.name })).toBeVisible();
  await expect(page.getByRole('region', { name: /^Members/ })).toContainText(`ada@${DOMAIN}`);
  await shot(page, 'sso-org-admin');
});

test('an invitation to another organization is accepted after signing in through the identity provider', async ({
  page,
}) => {
  const globex = await organization('Globex');
  const email = `dora@${DOMAIN}`;
  const inv = await backend<{ id: string }>('POST', '/v1/invitations', {
    email,
    organization_id: globex.id,
    role: 'member',
    redirect_url: hostedSignIn({}, 'invitation'),
  });
  const link = await mailed(email, /(http:\/\/localhost:\d+\/hosted\/invitation\?[^\s"<>]+)/);
  await page.goto(link);
  await expect(page.getByRole('heading', { level: 1, name: `Join ${globex.name}` })).toBeVisible();
  await expect(page.getByLabel('Email', { exact: true })).toHaveValue(email);
  // Her address's organization (Acme) admits only SSO, whatever organization invites her.
  const sso = page.getByRole('button', { name: SSO });
  await expect(sso).toBeVisible();
  await expect(page.getByRole('button', { name: 'Email me a sign-in link' })).toHaveCount(0);
  await sso.click();
  await atTheProvider(page, 'dora');
  await expect(page.getByRole('heading', { level: 1, name: `You joined ${globex.name}` })).toBeVisible();
  expect(page.url()).not.toContain('hc_');
  await shot(page, 'sso-invitation-joined');
  expect((await backend<{ state: string }>('GET', `/v1/invitations/${inv.id}`)).state).toBe('accepted');
  // One user, two organizations: Acme just in time (its connection), Globex by the invitation.
  const users = await backend<{ data: { id: string }[] }>('GET', `/v1/users?email=${encodeURIComponent(email)}`);
  expect(users.data).toHaveLength(1);
  const orgs = await backend<{ data: { organization_id: string; status: string }[] }>(
    'GET',
    `/v1/users/${users.data[0]!.id}/memberships`,
  );
  expect(orgs.data.filter((m) => m.status === 'active').map((m) => m.organization_id).sort()).toEqual(
    [org.id, globex.id].sort(),
  );
});

test.describe('a return the tab did not start', () => {
  test('a handoff code with no verifier kept in the tab is never redeemed', async ({ page }) => {
    const exchanges: string[] = [];
    page.on('request', (r) => r.url().includes('/v1/auth/handoffs/exchange') && exchanges.push(r.url()));
    await page.goto(hostedSignIn({ code: 'hc_someone_elses', state: 'k'.repeat(43) }, 'sso'));
    await expect(page.getByRole('heading', { level: 1, name: 'Single sign-on did not work' })).toBeVisible();
    await expect(page.getByRole('alert')).toContainText('This sign-in was not started here');
    expect(page.url()).not.toContain('hc_');
    expect(exchanges).toEqual([]);
    await shot(page, 'sso-not-started-here');
    // The server's side: the code would need its verifier anyway.
    const r = await api<{ error: { code: string } }>('POST', '/v1/auth/handoffs/exchange', { pk: true }, {
      code: 'hc_someone_elses',
      code_verifier: 'v'.repeat(43),
    });
    expect([r.status, r.body.error.code]).toEqual([400, 'invalid_handoff']);
  });
});
