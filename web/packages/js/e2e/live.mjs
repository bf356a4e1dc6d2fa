// Runs the built @authio/js (dist/index.js) against a real Authio server, as two tabs
// of one browser would (a shared memory storage and a Web Locks stand-in), in Node.
//
//   AUTHIO_URL=http://127.0.0.1:8080 \
//   AUTHIO_CONSOLE_TOKEN=$(authio operators token --email owner@example.com) \
//   [AUTHIO_MAIL_DIR=/path/of/AUTHIO_MAIL_URL=file://…] \
//   node e2e/live.mjs
//
// It creates a tenant, a test API key, two organizations and a user, then checks the
// client's contract step by step and prints one line per check. With AUTHIO_MAIL_DIR the
// sign-in goes through a real magic link; without it, through a sign-in token.
// Not part of `npm test` (it needs a running server).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createAuthio, memoryStorage, AuthioError } from '../dist/index.js';

const base = process.env.AUTHIO_URL?.replace(/\/+$/, '');
const consoleToken = process.env.AUTHIO_CONSOLE_TOKEN;
const mailDir = process.env.AUTHIO_MAIL_DIR;
if (!base || !consoleToken) {
  console.error('set AUTHIO_URL and AUTHIO_CONSOLE_TOKEN (see the comment at the top)');
  process.exit(2);
}

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok || !detail ? '' : ` — ${detail}`}`);
}

async function api(method, path, credential, body) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${credential}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

// ---- the project -------------------------------------------------------------------
const tag = Date.now().toString(36);
const tenant = await api('POST', '/v1/session/tenants', consoleToken, { name: `SDK e2e ${tag}`, slug: `sdk-e2e-${tag}` });
const key = await api('POST', `/v1/session/tenants/${tenant.id}/api-keys`, consoleToken, { name: 'sdk', environment: 'test' });
const sk = key.secret;
const acme = await api('POST', '/v1/organizations', sk, { name: `Acme ${tag}` });
const globex = await api('POST', '/v1/organizations', sk, { name: `Globex ${tag}` });
const email = `ada.${tag}@example.com`;
const ada = await api('POST', '/v1/users', sk, { email, email_verified: true });
await api('POST', '/v1/memberships', sk, { user_id: ada.id, organization_id: acme.id, role: 'admin' });
const globexMembership = await api('POST', '/v1/memberships', sk, { user_id: ada.id, organization_id: globex.id });

// ---- two tabs ------------------------------------------------------------------------
const storage = memoryStorage();
const tails = new Map();
const locks = {
  request(name, callback) {
    const run = (tails.get(name) ?? Promise.resolve()).then(() => callback({ name }));
    tails.set(name, run.catch(() => undefined));
    return run;
  },
};
let skew = 0; // moves the clients' clock forward, so cached tokens look stale
const refreshes = [];
const countingFetch = (url, init) => {
  if (url.includes('/v1/sessions/refresh')) refreshes.push(url);
  return fetch(url, init);
};
const tab = () =>
  createAuthio({ baseUrl: base, publishableKey: key.publishable_key, storage, locks, fetch: countingFetch, now: () => Date.now() + skew });
const a = tab();
const b = tab();
const events = [];
for (const [name, client] of [['A', a], ['B', b]]) {
  for (const e of ['signedIn', 'tokenRefreshed', 'contextDropped', 'signedOut']) client.on(e, (p) => events.push({ tab: name, e, ...p }));
}
const who = async (token) =>
  (await api('GET', '/v1/me', token)).active_organization?.id ?? null;

// ---- sign-in -------------------------------------------------------------------------
await a.sendMagicLink(email, { redirectUrl: 'http://localhost:3000/callback' });
check('magic link start answers 202 with {email, redirect_url}', true);
let signed;
if (mailDir) {
  const newest = readdirSync(mailDir)
    .map((f) => join(mailDir, f))
    .sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs)[0];
  // The mail is quoted-printable: join soft line breaks, decode `=XX`.
  const mail = readFileSync(newest, 'utf8')
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
  const link = new URL(/http:\/\/localhost:3000\/callback\S*/.exec(mail)[0]);
  signed = await a.verifyMagicLink(link.searchParams.get('token'));
  check('magic link verify signs in', signed.user.email === email);
} else {
  const { token } = await api('POST', '/v1/sign-in-tokens', sk, { user_id: ada.id });
  signed = await a.verifySignInToken(token);
  check('sign-in token verify signs in', signed.user.email === email);
}
check('two memberships: the session opens without an organization', signed.active_organization === null && a.organizationId === null);

// ---- contexts ------------------------------------------------------------------------
await a.switchOrganization(acme.id);
const aToken = await a.getToken();
check('tab A switched into Acme', (await who(aToken)) === acme.id);
const aStored = storage.getItem(`authio:${key.publishable_key}:ctx:${acme.id}`);
await b.switchOrganization(globex.id);
const bToken = await b.getToken();
check('tab B switched into Globex', (await who(bToken)) === globex.id);
check("B's switch left A's stored pair as it was", storage.getItem(`authio:${key.publishable_key}:ctx:${acme.id}`) === aStored);
check("A's access token still works after B's switch", (await who(await a.getToken())) === acme.id);

for (let round = 1; round <= 2; round++) {
  skew += 300_000;
  const before = refreshes.length;
  const [ta1, ta2, tb1] = await Promise.all([a.getToken(), b.getToken({ organizationId: acme.id }), b.getToken()]);
  check(`round ${round}: A and B asking for Acme at once make one refresh`, ta1 === ta2 && refreshes.length - before === 2, `${refreshes.length - before} refreshes`);
  check(`round ${round}: each context refreshed into its own organization`, (await who(ta1)) === acme.id && (await who(tb1)) === globex.id);
}
const live = await a.listContexts();
check('GET /v1/sessions/current lists the three contexts', live.contexts.length === 3, JSON.stringify(live.contexts));
const me = await a.getUser();
check('GET /v1/me answers for the current context', me.active_organization?.id === acme.id && me.user.email === email);

// ---- errors and drops ----------------------------------------------------------------
const initech = await api('POST', '/v1/organizations', sk, { name: `Initech ${tag}` });
const refused = await a.switchOrganization(initech.id).catch((e) => e);
check('a switch without membership throws AuthioError 403 not_a_member', refused instanceof AuthioError && refused.status === 403 && refused.code === 'not_a_member', String(refused));

await api('POST', `/v1/memberships/${globexMembership.id}/deactivate`, sk);
events.length = 0;
const dropped = await b.getToken({ forceRefresh: true });
check('deactivation: the Globex context refresh is dropped (null)', dropped === null);
check('…with contextDropped not_a_member, and no signedOut', events.some((e) => e.e === 'contextDropped' && e.organizationId === globex.id && e.code === 'not_a_member') && !events.some((e) => e.e === 'signedOut'), JSON.stringify(events));
check('…and Acme still refreshes', (await who(await a.getToken({ forceRefresh: true }))) === acme.id);

await a.revokeContext(null);
check('revokeContext(null) closes the "no organization" context', (await a.listContexts()).contexts.every((c) => c.organization !== null));

const stale = storage.getItem(`authio:${key.publishable_key}:ctx:${acme.id}`);
await a.getToken({ forceRefresh: true });
storage.setItem(`authio:${key.publishable_key}:ctx:${acme.id}`, stale);
events.length = 0;
const reused = await a.getToken({ forceRefresh: true });
check('a spent refresh token: null, signedOut refresh_token_reused, cache empty', reused === null && events.some((e) => e.e === 'signedOut' && e.reason === 'refresh_token_reused') && storage.length === 0, JSON.stringify(events));

// ---- sign out ------------------------------------------------------------------------
const { token: again } = await api('POST', '/v1/sign-in-tokens', sk, { user_id: ada.id });
await a.verifySignInToken(again);
const last = await a.getToken();
await a.signOut();
const after = await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${last}` } });
check('signOut revokes the session (its access token answers 401) and clears the cache', after.status === 401 && storage.length === 0);

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
