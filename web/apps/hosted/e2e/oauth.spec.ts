// The hosted pages as the OpenID Connect provider's sign-in: an OAuth client (public,
// PKCE) sends the browser to <issuer>/oauth2/authorize, the server sends it on to
// /hosted/sign-in?authorization=…, the user signs in by mail and chooses an
// organization, the client gets a code on its redirect URI and redeems it at
// /oauth2/token (here from the test, as the client's backend would). Cancel returns
// error=access_denied; a bad request is explained.
import type { Page, Request } from '@playwright/test';
import {
  api,
  backend,
  claims,
  expect,
  expectLabelled,
  hostedSignIn,
  organization,
  pkce,
  redeemCode,
  setup,
  shot,
  signInByMail,
  test,
  unique,
  user,
} from './fixtures';

const s = setup();
const CLIENT_NAME = 'Demo OAuth Client';

interface Client {
  id: string;
  redirectUri: string;
}

/** A public OAuth client of the project, returning to the test app's origin. */
async function publicClient(): Promise<Client> {
  const redirectUri = `${s.app}/oauth/callback`;
  const c = await backend<{ id: string; client_type: string; client_secret: string | null }>('POST', '/v1/oauth-clients', {
    name: CLIENT_NAME,
    client_type: 'public',
    redirect_uris: [redirectUri],
  });
  expect(c.id).toMatch(/^oc_/);
  expect(c.client_secret).toBeNull();
  return { id: c.id, redirectUri };
}

interface Started {
  verifier: string;
  state: string;
  nonce: string;
}

/** The client sends the browser to /oauth2/authorize; the hosted sign-in page opens for it. */
async function authorize(page: Page, client: Client, extra: Record<string, string> = {}): Promise<Started> {
  const { verifier, challenge } = pkce();
  const started = { verifier, state: unique('state-'), nonce: unique('nonce-') };
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: client.id,
    redirect_uri: client.redirectUri,
    scope: 'openid email profile organization',
    state: started.state,
    nonce: started.nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  });
  await page.goto(`${s.hosted}/oauth2/authorize?${q}`);
  await page.waitForURL(/\/hosted\/sign-in\?/);
  expect(new URL(page.url()).searchParams.get('authorization')).toBeTruthy();
  await expect(page.getByRole('heading', { level: 1, name: `Sign in to continue to ${CLIENT_NAME}` })).toBeVisible();
  await expect(page.getByText(`After you sign in, you return to ${s.app}.`)).toBeVisible();
  return started;
}

const toClient = (client: Client) => (r: Request) =>
  r.url().startsWith(`${client.redirectUri}?`) && r.resourceType() === 'document';

interface TokenAnswer {
  access_token: string;
  token_type: string;
  expires_in: number;
  id_token: string;
  scope: string;
}

/** The client's backend redeems the code at /oauth2/token. */
const redeem = (client: Client, code: string, verifier: string) => redeemCode(client.id, client.redirectUri, code, verifier);

test('an OAuth client signs a user in: authorize, magic link, the chooser, a code on its redirect URI, tokens at /oauth2/token', async ({
  page,
}) => {
  const client = await publicClient();
  const acme = await organization('Acme');
  const globex = await organization('Globex');
  const ada = await user('ada', [
    [acme, 'admin'],
    [globex, 'member'],
  ]);

  const started = await authorize(page, client, { login_hint: ada.email });
  await expect(page.getByLabel('Email', { exact: true })).toHaveValue(ada.email);
  await expect(page.getByRole('button', { name: 'Cancel' })).toBeVisible();
  await expectLabelled(page);
  await shot(page, 'oauth-sign-in');

  await signInByMail(page, ada.email);
  await expect(page.getByRole('heading', { level: 1, name: 'Choose an organization' })).toBeVisible();
  await expect(page.getByText(`Which organization do you want to use in ${CLIENT_NAME}?`)).toBeVisible();
  expect(page.url()).not.toContain('token=');
  await shot(page, 'oauth-chooser');

  const back = page.waitForRequest(toClient(client));
  await page.getByRole('button', { name: `${globex.name} (member)` }).click();
  const landed = new URL((await back).url());
  expect(`${landed.origin}${landed.pathname}`).toBe(client.redirectUri);
  expect(landed.searchParams.get('state')).toBe(started.state);
  expect(landed.searchParams.get('iss')).toBe(s.hosted);
  const code = landed.searchParams.get('code')!;
  expect(code).toMatch(/^oac_/);

  const r = await redeem(client, code, started.verifier);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  const tokens = r.body as TokenAnswer;
  expect(tokens.token_type).toBe('Bearer');
  expect(typeof tokens.access_token).toBe('string');
  expect(tokens.access_token.length).toBeGreaterThan(0);
  expect(typeof tokens.id_token).toBe('string');
  expect(claims(tokens.id_token)).toMatchObject({
    iss: s.hosted,
    aud: client.id,
    sub: ada.id,
    nonce: started.nonce,
    email: ada.email,
    org_id: globex.id,
  });

  // A code works once.
  const again = await redeem(client, code, started.verifier);
  expect(again.status).toBe(400);
  expect((again.body as { error: string }).error).toBe('invalid_grant');
});

test('the organization the client asks for is entered without the chooser, across the mail round trip', async ({ page }) => {
  const client = await publicClient();
  const acme = await organization('Acme');
  const globex = await organization('Globex');
  const bo = await user('bo', [
    [acme, 'admin'],
    [globex, 'member'],
  ]);
  const started = await authorize(page, client, { organization: acme.id });
  expect(new URL(page.url()).searchParams.get('organization')).toBe(acme.id);
  const back = page.waitForRequest(toClient(client));
  await signInByMail(page, bo.email);
  const code = new URL((await back).url()).searchParams.get('code')!;
  const r = await redeem(client, code, started.verifier);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  expect(claims((r.body as TokenAnswer).id_token)).toMatchObject({ sub: bo.id, org_id: acme.id });
});

test('Cancel returns to the client with error=access_denied and its state', async ({ page }) => {
  const client = await publicClient();
  const started = await authorize(page, client);
  const back = page.waitForRequest(toClient(client));
  await page.getByRole('button', { name: 'Cancel' }).click();
  const landed = new URL((await back).url());
  expect(`${landed.origin}${landed.pathname}`).toBe(client.redirectUri);
  expect(landed.searchParams.get('error')).toBe('access_denied');
  expect(landed.searchParams.get('state')).toBe(started.state);
  expect(landed.searchParams.has('code')).toBe(false);
});

test.describe('refusals', () => {
  test.use({ allowedConsoleErrors: ['400 (Bad Request)'] });

  test('a tampered authorization request is explained, with no sign-in form', async ({ page }) => {
    await page.goto(hostedSignIn({ authorization: 'tampered.request' }));
    await expect(page.getByRole('heading', { level: 1, name: 'This sign-in request cannot be used' })).toBeVisible();
    await expect(page.getByRole('alert')).toContainText('not valid or has expired');
    await expect(page.getByLabel('Email', { exact: true })).toHaveCount(0);
    await expect(page.getByRole('button')).toHaveCount(0);
    await shot(page, 'oauth-invalid-request');
    const r = await api<{ error: { code: string } }>('GET', '/v1/oauth2/requests/tampered.request', null);
    expect([r.status, r.body.error.code]).toEqual([400, 'invalid_authorization_request']);
  });
});
