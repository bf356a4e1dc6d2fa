// The hosted pages in Chromium against the real server: an app on another origin signs
// in through them with @authio/js (signInWithRedirect / handleRedirectCallback), and the
// refusals, the invitation, passkeys, step-up and the org-admin view.
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import type { Page, Request } from '@playwright/test';
import {
  api,
  backend,
  expect,
  expectLabelled,
  hostedSignIn,
  mailed,
  me,
  organization,
  pkce,
  sessionIn,
  setup,
  shot,
  signInByMail,
  switchOrg,
  test,
  unique,
  user,
  virtualAuthenticator,
} from './fixtures';

const s = setup();

/** From the test app, start signInWithRedirect; the hosted sign-in page opens. */
async function fromApp(page: Page, query = ''): Promise<URL> {
  await page.goto(`${s.app}/${query}`);
  await page.getByRole('button', { name: 'Sign in with Authio' }).click();
  await page.waitForURL(/\/hosted\/sign-in\?/);
  await expect(page.getByRole('heading', { level: 1, name: `Sign in to ${s.projectName}` })).toBeVisible();
  return new URL(page.url());
}

/** The app after handleRedirectCallback: what it shows. */
async function appShows(page: Page) {
  await expect(page.locator('#status')).toHaveText('signed in');
  await expect(page.locator('#api-org')).not.toBeEmpty();
  const text = async (id: string) => (await page.locator(`#${id}`).textContent()) ?? '';
  return {
    user: await text('user'),
    orgId: await text('org-id'),
    apiOrg: await text('api-org'),
    state: await text('state'),
    contexts: await text('contexts'),
  };
}

const isExchange = (r: Request) => r.url().endsWith('/v1/auth/handoffs/exchange') && r.method() === 'POST';
const isCallback = (r: Request) => r.url().startsWith(`${s.app}/callback?`) && r.resourceType() === 'document';

test('(a) an app on another origin signs in: magic link, chooser of two organizations, back with a code for the chosen one', async ({
  page,
}) => {
  const acme = await organization('Acme');
  const globex = await organization('Globex');
  const ada = await user('ada', [
    [acme, 'admin'],
    [globex, 'member'],
  ]);

  const hosted = await fromApp(page, '?state=app-state-1');
  expect(hosted.origin).toBe(s.hosted);
  expect(hosted.origin).not.toBe(s.app);
  const challenge = hosted.searchParams.get('code_challenge')!;
  expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(hosted.searchParams.get('state')).toBe('app-state-1');
  expect(hosted.searchParams.get('redirect_url')).toBe(`${s.app}/callback`);
  await expect(page.locator('.brand')).toHaveText(s.projectName);
  await expect(page).toHaveTitle(`Sign in · ${s.projectName}`);
  await expectLabelled(page);
  await shot(page, 'sign-in');

  await signInByMail(page, ada.email, 'check-email');

  await expect(page.getByRole('heading', { level: 1, name: 'Choose an organization' })).toBeVisible();
  // The link's token is spent and gone from the address bar; the app's parameters stay.
  expect(page.url()).not.toContain('token=');
  expect(new URL(page.url()).pathname).toBe('/hosted/sign-in');
  expect(new URL(page.url()).searchParams.get('code_challenge')).toBe(challenge);
  const orgs = page.getByRole('list', { name: 'Organizations' });
  await expect(orgs.getByRole('button')).toHaveCount(2);
  await expect(orgs.getByRole('button', { name: `${acme.name} (admin)` })).toBeVisible();
  const globexButton = orgs.getByRole('button', { name: `${globex.name} (member)` });
  await expect(globexButton).toBeVisible();
  // Focus moved to the step's heading.
  await expect(page.getByRole('heading', { level: 1 })).toBeFocused();
  await expectLabelled(page);
  await shot(page, 'chooser');

  // By keyboard: Tab to the second organization, Enter.
  const exchange = page.waitForRequest(isExchange);
  const callback = page.waitForRequest(isCallback);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await expect(globexButton).toBeFocused();
  await page.keyboard.press('Enter');

  const back = new URL((await callback).url());
  expect(back.searchParams.get('code')).toMatch(/^hc_/);
  expect(back.searchParams.get('state')).toBe('app-state-1');
  const sent = (await exchange).postDataJSON() as { code: string; code_verifier: string };
  expect(sent.code).toBe(back.searchParams.get('code'));
  expect(createHash('sha256').update(sent.code_verifier).digest('base64url')).toBe(challenge);

  const shown = await appShows(page);
  expect(shown).toEqual({ user: ada.email, orgId: globex.id, apiOrg: globex.id, state: 'app-state-1', contexts: globex.id });
  // The app's address is clean, and its tokens are in its own storage (not the hosted origin's).
  expect(page.url()).toBe(`${s.app}/`);
  await shot(page, 'app-signed-in');
});

test('(b) a handoff code works once: presented again, it is refused and the session is revoked', async ({ page }) => {
  const acme = await organization('Acme');
  const globex = await organization('Globex');
  const bo = await user('bo', [
    [acme, 'admin'],
    [globex, 'member'],
  ]);
  // The app asks for Globex (organizationId): no chooser.
  const hosted = await fromApp(page, `?org=${globex.id}`);
  expect(hosted.searchParams.get('organization')).toBe(globex.id);
  const exchange = page.waitForRequest(isExchange);
  await signInByMail(page, bo.email);
  const shown = await appShows(page);
  expect(shown.orgId).toBe(globex.id);
  expect(shown.apiOrg).toBe(globex.id);

  const { code, code_verifier } = (await exchange).postDataJSON() as { code: string; code_verifier: string };
  const token = (await page.evaluate(() => (window as unknown as { authio: { getToken(): Promise<string> } }).authio.getToken()))!;
  expect(await me(token)).toEqual({ status: 200, org: globex.id });

  const again = await api<{ error: { code: string } }>('POST', '/v1/auth/handoffs/exchange', { pk: true }, { code, code_verifier });
  expect(again.status).toBe(400);
  expect(again.body.error.code).toBe('invalid_handoff');
  // The replay revoked the session: the app's tokens are dead.
  expect((await me(token)).status).toBe(401);
});

test('a user without organizations comes back without one', async ({ page }) => {
  const free = await user('free', []);
  await fromApp(page, '?state=none-1');
  await signInByMail(page, free.email);
  const shown = await appShows(page);
  expect(shown).toEqual({ user: free.email, orgId: '(none)', apiOrg: '(none)', state: 'none-1', contexts: 'none' });
});

test.describe('refusals', () => {
  // The browser logs each refused request itself; those are expected here.
  test.use({ allowedConsoleErrors: ['400 (Bad Request)', '401 (Unauthorized)'] });

  test('(b) a return address the project does not allow is reported, and not followed', async ({ page }) => {
    const loner = await user('loner', []);
    const { challenge } = pkce();
    await page.goto(hostedSignIn({ redirect_url: 'https://app.example.net/callback', code_challenge: challenge, state: 's' }));
    await signInByMail(page, loner.email);
    await expect(page.getByRole('heading', { level: 1, name: 'You could not be returned to app.example.net' })).toBeVisible();
    await expect(page.getByRole('alert')).toContainText('https://app.example.net/callback');
    await expect(page.getByRole('alert')).toContainText('not allowed for this project');
    await expect(page.getByRole('button', { name: 'Try again' })).toHaveCount(0);
    expect(new URL(page.url()).origin).toBe(s.hosted);
    await expectLabelled(page);
    await shot(page, 'redirect-not-allowed');
  });

  test('an incomplete request, a missing or wrong key and a used link are explained', async ({ page }) => {
    await page.goto(hostedSignIn({ redirect_url: `${s.app}/callback` }));
    await expect(page.getByRole('heading', { level: 1, name: 'This sign-in link is not valid' })).toBeVisible();
    await expect(page.getByRole('alert')).toContainText('code_challenge is missing');
    await shot(page, 'invalid-request');

    await page.goto(`${s.hosted}/hosted/sign-in`);
    await expect(page.getByRole('heading', { level: 1, name: 'This page cannot be used' })).toBeVisible();
    await expect(page.getByRole('alert')).toContainText('publishable key (pk)');
    await page.goto(`${s.hosted}/hosted/sign-in?pk=pk_test_not_a_key`);
    await expect(page.getByRole('alert')).toHaveText('This page’s project key (pk) is not valid.');
    await shot(page, 'bad-key');

    await page.goto(`${s.hosted}/hosted/nowhere?pk=${s.publishableKey}`);
    await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();

    const u = await user('twice', []);
    await page.goto(hostedSignIn({}));
    await page.getByLabel('Email', { exact: true }).fill(u.email);
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    const link = await mailed(u.email, /(https?:\/\/\S+[?&]token=ml_[A-Za-z0-9_-]+)/);
    await page.goto(link);
    await expect(page.getByRole('heading', { level: 1, name: 'You are signed in' })).toBeVisible();
    await page.goto(link);
    await expect(page.getByRole('heading', { level: 1, name: 'The sign-in link did not work' })).toBeVisible();
    await expect(page.getByRole('alert')).toHaveText('This sign-in link was used already or has expired. Ask for a new one.');
    await page.getByRole('link', { name: 'Ask for a new sign-in link' }).click();
    await expect(page.getByRole('heading', { level: 1, name: `Sign in to ${s.projectName}` })).toBeVisible();
    await expectLabelled(page);
  });
});

test('(c) a new user accepts an invitation through the hosted pages and comes back to the app in its organization', async ({
  page,
}) => {
  const acme = await organization('Acme');
  const inviter = await user('inviter', [[acme, 'admin']]);
  const email = `${unique('newbie')}@example.com`;
  const inv = await backend<{ id: string }>('POST', '/v1/invitations', {
    email,
    organization_id: acme.id,
    role: 'member',
    inviter_user_id: inviter.id,
    redirect_url: `${s.app}/accept`,
  });
  // The invitation mail links to the app, which sends the user to the hosted invitation page.
  const link = await mailed(email, /(http:\/\/127\.0\.0\.1:\d+\/accept\?invitation_code=inv_[A-Za-z0-9_-]+)/);
  await page.goto(link);
  await page.waitForURL(/\/hosted\/invitation\?/);
  await expect(page.getByRole('heading', { level: 1, name: `Join ${acme.name}` })).toBeVisible();
  await expect(page.locator('.invitation')).toContainText(
    `${inviter.email} invited you to join ${acme.name} on ${s.projectName} as member.`,
  );
  await expect(page.getByLabel('Email', { exact: true })).toHaveValue(email);
  await expectLabelled(page);
  await shot(page, 'invitation');

  await signInByMail(page, email);
  await expect(page.getByRole('heading', { level: 1, name: `You joined ${acme.name}` })).toBeVisible();
  await expect(page.getByRole('status')).toHaveText(`You are now a member of ${acme.name} as member.`);
  await expectLabelled(page);
  await shot(page, 'joined');
  expect((await backend<{ state: string }>('GET', `/v1/invitations/${inv.id}`)).state).toBe('accepted');

  await page.getByRole('button', { name: `Continue to ${new URL(s.app).host}` }).click();
  const shown = await appShows(page);
  expect(shown.user).toBe(email);
  expect(shown.orgId).toBe(acme.id);
  expect(shown.apiOrg).toBe(acme.id);
});

test('(d) passkeys: added after a magic-link sign-in, then the only thing used to sign in', async ({ page }) => {
  const authenticator = await virtualAuthenticator(page);
  const acme = await organization('Acme');
  const pat = await user('pat', [[acme, 'member']]);

  // The sign-in page without an app to return to signs in for itself.
  await page.goto(hostedSignIn({}));
  await signInByMail(page, pat.email);
  await expect(page.getByRole('heading', { level: 1, name: 'You are signed in' })).toBeVisible();
  await expect(page.getByText(`Signed in to ${s.projectName} as ${pat.email}.`)).toBeVisible();
  await expectLabelled(page);
  await shot(page, 'signed-in');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await expect(page.getByText('Passkey added.')).toBeVisible();
  expect(await authenticator.credentials()).toBe(1);
  await shot(page, 'passkey-added');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Sign in to ${s.projectName}` })).toBeVisible();

  // From the app: the passkey alone (no mail is sent).
  const mails = readdirSync(s.mailDir).length;
  await fromApp(page, '?state=pk-1');
  await expectLabelled(page);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  const shown = await appShows(page);
  expect(shown).toMatchObject({ user: pat.email, orgId: acme.id, apiOrg: acme.id, state: 'pk-1' });
  expect(readdirSync(s.mailDir).length).toBe(mails);
  const created = await backend<{ data: Array<{ data: Record<string, unknown>; actor: { id: string | null } }> }>(
    'GET',
    `/v1/audit-events?action=session.created&actor_id=${pat.id}`,
  );
  expect(created.data.map((e) => e.data.method)).toContain('passkey');
});

test.describe('step-up', () => {
  // The switch is refused (403 step_up_required) before the step-up; the browser logs it.
  test.use({ allowedConsoleErrors: ['403 (Forbidden)'] });

  test('(e) an organization whose policy requires a passkey asks for one, then lets the user in', async ({ page }) => {
    await virtualAuthenticator(page);
    const acme = await organization('Acme');
    const vault = await organization('Vault');
    await backend('PUT', `/v1/organizations/${vault.id}/policy`, { allowed_methods: null, require_passkey: true });
    const sam = await user('sam', [
      [acme, 'member'],
      [vault, 'member'],
    ]);

    // Sam registers a passkey first (signed in by mail on the page itself).
    await page.goto(hostedSignIn({}));
    await signInByMail(page, sam.email);
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await expect(page.getByText('Passkey added.')).toBeVisible();
    await page.getByRole('button', { name: 'Sign out' }).click();

    // From the app, by mail: the chooser, then Vault asks for the passkey.
    await fromApp(page);
    await signInByMail(page, sam.email);
    await page.getByRole('button', { name: `${vault.name} (member)` }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Confirm it’s you' })).toBeVisible();
    await expect(page.getByText(`${vault.name} asks you to confirm with a passkey before you continue. It asks for a passkey.`)).toBeVisible();
    await expect(page.getByRole('button', { name: 'Choose another organization' })).toBeVisible();
    await expectLabelled(page);
    await shot(page, 'step-up');

    await page.getByRole('button', { name: 'Confirm with a passkey' }).click();
    const shown = await appShows(page);
    expect(shown.orgId).toBe(vault.id);
    expect(shown.apiOrg).toBe(vault.id);
  });
});

test('(f) org admin: only that organization’s members and sessions; revoking a member there leaves their other organizations; a non-admin has none to manage', async ({
  page,
}) => {
  const umbrella = await organization('Umbrella');
  const initech = await organization('Initech');
  const globex = await organization('Globex');
  const admin = await user('boss', [
    [umbrella, 'admin'],
    [initech, 'admin'],
    [globex, 'member'],
  ]);
  const member = await user('worker', [
    [umbrella, 'member'],
    [globex, 'member'],
  ]);
  const outsider = await user('outsider', [[globex, 'admin']]);
  const inUmbrella = await sessionIn(member, umbrella);
  const inGlobex = await switchOrg(inUmbrella, globex);
  await sessionIn(outsider, globex);

  await page.goto(hostedSignIn({}, 'org-admin'));
  await expect(page.getByRole('heading', { level: 1, name: 'Manage your organization' })).toBeVisible();
  await expectLabelled(page);
  await shot(page, 'org-admin-sign-in');
  await signInByMail(page, admin.email);

  // Only the organizations where the user is an admin.
  await expect(page.getByRole('heading', { level: 1, name: 'Choose an organization to manage' })).toBeVisible();
  const orgs = page.getByRole('list', { name: 'Organizations' });
  await expect(orgs.getByRole('button')).toHaveCount(2);
  await expect(orgs.getByRole('button', { name: `${globex.name} (member)` })).toHaveCount(0);
  await shot(page, 'org-admin-chooser');
  await orgs.getByRole('button', { name: `${umbrella.name} (admin)` }).click();

  await expect(page.getByRole('heading', { level: 1, name: umbrella.name })).toBeVisible();
  const members = page.getByRole('region', { name: /^Members/ });
  await expect(members.getByRole('row')).toHaveCount(3); // header + two members
  await expect(members).toContainText(admin.email);
  await expect(members).toContainText(member.email);
  await expect(page.getByText(outsider.email)).toHaveCount(0);
  const sessions = page.getByRole('region', { name: `Sessions in ${umbrella.name}` });
  await expect(sessions.getByRole('row', { name: new RegExp(member.email) })).toHaveCount(1);
  await expect(sessions.getByRole('row', { name: new RegExp(admin.email) })).toContainText('This session');
  const audit = page.getByRole('region', { name: 'Audit log' });
  await expect(audit.getByRole('row').nth(1)).toBeVisible();
  await expectLabelled(page);
  await shot(page, 'org-admin');

  await sessions.getByRole('button', { name: `Revoke the session of ${member.email}` }).click();
  await expect(page.getByText(`${member.email} is signed out of ${umbrella.name}.`)).toBeVisible();
  await expect(sessions.getByRole('row', { name: new RegExp(member.email) })).toHaveCount(0);
  await shot(page, 'org-admin-revoked');
  // Only that organization's context closed: the member's Globex token still works.
  expect((await me(inUmbrella.access_token)).status).toBe(401);
  expect(await me(inGlobex.access_token)).toEqual({ status: 200, org: globex.id });

  await page.getByRole('button', { name: 'Switch organization' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Choose an organization to manage' })).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();

  // A member who administers nothing.
  await expect(page.getByRole('heading', { level: 1, name: 'Manage your organization' })).toBeVisible();
  await signInByMail(page, member.email);
  await expect(page.getByRole('heading', { level: 1, name: 'No organization to manage' })).toBeVisible();
  await expect(page.getByRole('table')).toHaveCount(0);
  await expectLabelled(page);
  await shot(page, 'org-admin-none');
});
