import { expect, test as base, type Page } from '@playwright/test';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostedSetup } from './setup-types';

const here = dirname(fileURLToPath(import.meta.url));
export const SCREENSHOTS = process.env.SCREENSHOT_DIR ?? resolve(here, '../../../../target/screenshots/hosted');

export function setup(): HostedSetup {
  const raw = process.env.HOSTED_SETUP;
  if (!raw) throw new Error('HOSTED_SETUP is not set: run through playwright.config.ts (global-setup.ts)');
  return JSON.parse(raw) as HostedSetup;
}

interface Fixtures {
  /** Console errors a test provokes on purpose (matched by substring); any other fails the test. */
  allowedConsoleErrors: string[];
}

/**
 * The browser's log of an SSO lookup answered 404: the sign-in form looks every typed
 * address up (home-realm discovery), and 404 is the lookup's "no SSO here", not an error.
 * (For a failed request the log's location is the request's URL.)
 */
function isNoSsoRoute(text: string, url: string): boolean {
  return text.includes('404 (Not Found)') && new URL(url, 'http://x').pathname === '/v1/auth/sso/lookup';
}

/** `page` fails the test on any console error or page error the test did not declare. */
export const test = base.extend<Fixtures>({
  allowedConsoleErrors: [[], { option: true }],
  page: async ({ page, allowedConsoleErrors }, use) => {
    const errors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !isNoSsoRoute(msg.text(), msg.location().url)) {
        errors.push(`console.error: ${msg.text()} (${msg.location().url})`);
      }
    });
    page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
    await use(page);
    const unexpected = errors.filter((e) => !allowedConsoleErrors.some((a) => e.includes(a)));
    expect(unexpected, 'browser console errors').toEqual([]);
  },
});

export { expect };

// ---- the API, as the project's backend (secret key) and as a browser would (publishable key) ----

export async function api<T = unknown>(
  method: string,
  path: string,
  credential: { secret: true } | { pk: true } | { token: string } | null,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const s = setup();
  const headers: Record<string, string> = {};
  if (credential && 'secret' in credential) headers.authorization = `Bearer ${s.secretKey}`;
  if (credential && 'pk' in credential) headers['authio-publishable-key'] = s.publishableKey;
  if (credential && 'token' in credential) headers.authorization = `Bearer ${credential.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(s.api + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** A backend call that must succeed. */
export async function backend<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await api<T>(method, path, { secret: true }, body);
  if (r.status >= 300) throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

let counter = 0;
/** A string no other test run uses. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}`;
}

export interface Org {
  id: string;
  name: string;
}

export async function organization(name: string): Promise<Org> {
  return backend<Org>('POST', '/v1/organizations', { name: `${name} ${unique('')}`.trim() });
}

export interface User {
  id: string;
  email: string;
}

/** A user (verified email) with active memberships: [organization, role] pairs. */
export async function user(name: string, memberships: Array<[Org, string]>): Promise<User> {
  const email = `${unique(name)}@example.com`;
  const u = await backend<User>('POST', '/v1/users', { email, email_verified: true });
  for (const [org, role] of memberships) {
    await backend('POST', '/v1/memberships', { user_id: u.id, organization_id: org.id, role });
  }
  return { id: u.id, email };
}

export interface SessionAnswer {
  access_token: string;
  refresh_token: string;
  session_id: string;
  active_organization: { id: string; name: string; role: string } | null;
}

/** A session of `u` made the way a backend-driven sign-in does (sign-in token), then switched into `org`. */
export async function sessionIn(u: User, org: Org): Promise<SessionAnswer> {
  const { token } = await backend<{ token: string }>('POST', '/v1/sign-in-tokens', { user_id: u.id });
  const signed = await api<SessionAnswer>('POST', '/v1/auth/sign-in-tokens/verify', { pk: true }, { token });
  expect(signed.status).toBe(200);
  return switchOrg(signed.body, org);
}

export async function switchOrg(s: SessionAnswer, org: Org): Promise<SessionAnswer> {
  const r = await api<SessionAnswer>('POST', '/v1/sessions/switch-org', { token: s.access_token }, { organization_id: org.id });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

/** `GET /v1/me` with an access token: its status and the organization the token acts in. */
export async function me(token: string): Promise<{ status: number; org: string | null }> {
  const r = await api<{ active_organization: { id: string } | null }>('GET', '/v1/me', { token });
  return { status: r.status, org: r.status === 200 ? (r.body.active_organization?.id ?? null) : null };
}

// ---- OAuth clients ----

/** A client's backend redeems `code` at /oauth2/token (a public client: client_id and the PKCE verifier). */
export async function redeemCode(
  clientId: string,
  redirectUri: string,
  code: string,
  verifier: string,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${setup().api}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: clientId,
      code_verifier: verifier,
    }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** A JWT's claims (not verified: the tests read what the server wrote). */
export function claims(jwt: string): Record<string, unknown> {
  const parts = jwt.split('.');
  expect(parts).toHaveLength(3);
  return JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

// ---- PKCE ----

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The hosted sign-in URL an app would send the user to, without @authio/js. */
export function hostedSignIn(params: Record<string, string>, page = 'sign-in'): string {
  const s = setup();
  return `${s.hosted}/hosted/${page}?${new URLSearchParams({ pk: s.publishableKey, ...params })}`;
}

// ---- mail (AUTHIO_MAIL_URL=file://DIR writes one .eml per message) ----

const seenMail = new Set<string>();

function decoded(file: string): string {
  // The text part is quoted-printable: join soft line breaks, decode =XX.
  return readFileSync(file, 'utf8')
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The first match of `pattern` in a mail to `to` not read before (waits for it to come). */
export async function mailed(to: string, pattern: RegExp): Promise<string> {
  const dir = setup().mailDir;
  let found: string | null = null;
  await expect
    .poll(
      () => {
        const files = readdirSync(dir)
          .filter((f) => !seenMail.has(f))
          .map((f) => join(dir, f))
          .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
        for (const f of files) {
          const text = decoded(f);
          if (!new RegExp(`^To:.*${to.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'mi').test(text)) continue;
          const m = text.match(pattern);
          if (m) {
            seenMail.add(f.slice(dir.length + 1));
            found = m[1] ?? m[0];
            return true;
          }
        }
        return false;
      },
      { message: `a mail to ${to} matching ${pattern}`, timeout: 15_000 },
    )
    .toBe(true);
  return found!;
}

/** The sign-in link of the newest unread magic-link mail to `to`. */
export function magicLink(to: string): Promise<string> {
  return mailed(to, /(https?:\/\/\S+[?&]token=ml_[A-Za-z0-9_-]+)/);
}

// ---- the browser ----

/** A virtual passkey authenticator (CTAP2, internal, resident keys, user verified) in this page's tab. */
export async function virtualAuthenticator(page: Page): Promise<{ credentials: () => Promise<number> }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      ctap2Version: 'ctap2_1',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials.length,
  };
}

/** A full-page screenshot in $SCREENSHOT_DIR (target/screenshots/hosted). */
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

/** Sign in on a hosted sign-in form by magic link as `email`: ask, read the mail, open the link in this tab. */
export async function signInByMail(page: Page, email: string, screenshot?: string): Promise<void> {
  const field = page.getByLabel('Email', { exact: true });
  if ((await field.inputValue()) !== email) await field.fill(email);
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Check your email' })).toBeVisible();
  await expect(page.getByRole('status')).toContainText(email);
  if (screenshot) {
    await expectLabelled(page);
    await shot(page, screenshot);
  }
  await page.goto(await magicLink(email));
}
