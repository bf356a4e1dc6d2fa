// Authio's OpenID Connect provider checked with the stock Node client `openid-client` (v6),
// as a PUBLIC client (PKCE S256, no secret).
//
//   node openid-client.mjs SETUP.json
//
// SETUP.json is written by scripts/oidc-conformance: the issuer, a project's secret and
// publishable keys, a user who is a member of an organization, and the OAuth clients
// (public, confidential, other). The user's part of the flow (what the hosted pages do
// in a browser) is done with the same API calls the pages make: a sign-in token,
// POST /v1/sessions/switch-org into the organization, then
// POST /v1/oauth2/authorizations {request} with that context's access token.
//
// Prints one `PASS <check>` or `FAIL <check> -- <why>` line per check on stdout; every
// other line (details) starts with two spaces. Exit 0 when every check passed, 1 when
// some failed; anything else means the script itself broke.
//
// Part of scripts/oidc-conformance, which copies this file next to its node_modules in
// target/oidc-node/ (ES modules resolve packages from the file's own folder).
import * as client from 'openid-client';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const setup = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = setup.issuer;
const pub = setup.clients.public;
const other = setup.clients.other;
const SCOPE = setup.scope;
const REDIRECT = [302, 303];

let failed = 0;
let passed = 0;
const note = (...lines) => {
  for (const l of lines.join('\n').split('\n')) console.log(`  ${l}`);
};

class NotRun extends Error {}
/** The value, or a NotRun error naming what is missing (a prerequisite check failed). */
function need(value, what) {
  if (value === undefined || value === null) throw new NotRun(`not run: ${what}`);
  return value;
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

/** Every detail an openid-client / oauth4webapi error carries, on one line. */
function describe(e) {
  if (!(e instanceof Error)) return String(e);
  const bits = [`${e.name}: ${e.message}`];
  for (const k of ['code', 'error', 'error_description', 'status']) {
    if (e[k] !== undefined) bits.push(`${k}=${JSON.stringify(e[k])}`);
  }
  if (e.cause !== undefined) {
    let c;
    try {
      c = e.cause instanceof Error ? `${e.cause.name}: ${e.cause.message}` : JSON.stringify(e.cause);
    } catch {
      c = String(e.cause);
    }
    bits.push(`cause=${c.slice(0, 800)}`);
  }
  return bits.join(' ');
}

async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`PASS node: ${name}`);
  } catch (e) {
    failed++;
    const why = e instanceof NotRun ? e.message : describe(e);
    console.log(`FAIL node: ${name} -- ${why.replace(/\n/g, ' ')}`);
  }
}

/** Runs fn, which must throw; returns the error (fails when it did not throw). */
async function refused(fn, what) {
  let result;
  try {
    result = await fn();
  } catch (e) {
    note(`refused as expected: ${describe(e)}`);
    return e;
  }
  throw new Error(`${what} was ACCEPTED; answer: ${JSON.stringify(result)?.slice(0, 500)}`);
}

/** An OAuth error answer (RFC 6749 5.2) raised by openid-client: ResponseBodyError with .error. */
function expectOAuthError(e, code) {
  assert(
    e instanceof client.ResponseBodyError && e.error === code,
    `expected openid-client's ResponseBodyError with error=${code}, got ${describe(e)}`,
  );
}

// ------------------------------------------------------------------ plain HTTP (the hosted pages' calls)
async function api(method, path, { token, pk, body } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (pk) headers['authio-publishable-key'] = pk;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(path, issuer), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    redirect: 'manual',
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}
async function apiOk(method, path, expected, opts) {
  const r = await api(method, path, opts);
  if (r.status !== expected) throw new Error(`${method} ${path} answered ${r.status}, expected ${expected}: ${r.text.slice(0, 800)}`);
  return r.json;
}

/** The user signs in (sign-in token) and enters the organization's context. */
async function signInToOrg(p = setup) {
  const { token } = await apiOk('POST', '/v1/sign-in-tokens', 201, {
    token: p.secret_key,
    body: { user_id: p.user.id },
  });
  const session = await apiOk('POST', '/v1/auth/sign-in-tokens/verify', 200, { pk: p.publishable_key, body: { token } });
  const org = await apiOk('POST', '/v1/sessions/switch-org', 200, {
    token: session.access_token,
    body: { organization_id: p.organization.id },
  });
  return { accessToken: org.access_token, sessionId: session.session_id };
}

/** GET the authorization URL without following; the answer's status and Location. */
async function getAuthorize(url) {
  const res = await fetch(url, { redirect: 'manual' });
  const body = await res.text();
  return { status: res.status, location: res.headers.get('location'), contentType: res.headers.get('content-type'), body };
}

/** The request id from the hosted sign-in redirect, checked against the contract. */
function hostedRequest(r, p = setup) {
  // The contract says 302; 303 See Other is as good a redirect for a GET (RFC 9110).
  assert(REDIRECT.includes(r.status), `authorize answered ${r.status}, expected a 302/303 redirect to the hosted page: ${r.body.slice(0, 500)}`);
  const loc = new URL(need(r.location, 'a Location header'), issuer);
  const want = new URL('/hosted/sign-in', issuer);
  assert(loc.origin + loc.pathname === want.href, `the redirect goes to ${loc.href}, expected ${want.href}?authorization=…&pk=…`);
  const req = loc.searchParams.get('authorization');
  assert(req, `no authorization parameter in ${loc.href}`);
  assert(/^[A-Za-z0-9._~-]+$/.test(req), `the request id ${JSON.stringify(req)} is not made of URL-safe characters and dots`);
  const pk = loc.searchParams.get('pk');
  assert(pk === p.publishable_key, `pk=${pk}, expected the project's publishable key ${p.publishable_key}`);
  return { req, location: loc };
}

/** One authorization as far as the callback URL: the request, the user's consent, the redirect. */
async function authorize(config, { redirectUri = pub.redirect_uri, pkce = true, extra = {} } = {}) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const params = { redirect_uri: redirectUri, scope: SCOPE, state, nonce, ...extra };
  if (pkce) {
    params.code_challenge = await client.calculatePKCECodeChallenge(codeVerifier);
    params.code_challenge_method = 'S256';
  }
  const url = client.buildAuthorizationUrl(config, params);
  return { url, codeVerifier, state, nonce };
}
async function throughUser(flow, p = setup) {
  const r = await getAuthorize(flow.url);
  const { req } = hostedRequest(r, p);
  const user = await signInToOrg(p);
  const { redirect_to } = await apiOk('POST', '/v1/oauth2/authorizations', 200, { token: user.accessToken, body: { request: req } });
  assert(typeof redirect_to === 'string', `no redirect_to in the answer`);
  return { ...flow, req, user, callback: new URL(redirect_to) };
}

const insecure = { execute: [client.allowInsecureRequests] };
const lib = `openid-client ${require('openid-client/package.json').version}, oauth4webapi ${require('oauth4webapi/package.json').version}, node ${process.version}`;
note(lib, `issuer ${issuer}, public client ${pub.id}`);

// ------------------------------------------------------------------ discovery
let config;
await check('discovery(issuer) with the public client (token_endpoint_auth_method none)', async () => {
  config = await client.discovery(new URL(issuer), pub.id, undefined, client.None(), insecure);
  note(`metadata: ${JSON.stringify(config.serverMetadata())}`);
});

await check('discovery metadata lists what the contract says', async () => {
  const md = need(config, 'discovery failed').serverMetadata();
  const problems = [];
  const eq = (k, v) => md[k] === v || problems.push(`${k}=${JSON.stringify(md[k])}, expected ${JSON.stringify(v)}`);
  const has = (k, vs) => {
    const got = md[k];
    const missing = vs.filter((v) => !Array.isArray(got) || !got.includes(v));
    if (missing.length) problems.push(`${k}=${JSON.stringify(got)} lacks ${JSON.stringify(missing)}`);
  };
  eq('issuer', issuer);
  for (const [k, p] of [
    ['authorization_endpoint', '/oauth2/authorize'],
    ['token_endpoint', '/oauth2/token'],
    ['userinfo_endpoint', '/oauth2/userinfo'],
    ['revocation_endpoint', '/oauth2/revoke'],
    ['introspection_endpoint', '/oauth2/introspect'],
    ['end_session_endpoint', '/oauth2/logout'],
  ]) eq(k, issuer + p);
  if (typeof md.jwks_uri !== 'string') problems.push('no jwks_uri');
  has('response_types_supported', ['code']);
  has('grant_types_supported', ['authorization_code', 'refresh_token']);
  has('code_challenge_methods_supported', ['S256']);
  has('token_endpoint_auth_methods_supported', ['client_secret_basic', 'client_secret_post', 'none']);
  has('id_token_signing_alg_values_supported', ['EdDSA', 'ES256']);
  has('subject_types_supported', ['public']);
  has('scopes_supported', ['openid', 'email', 'profile', 'offline_access', 'organization']);
  eq('authorization_response_iss_parameter_supported', true);
  assert(problems.length === 0, problems.join('; '));
});

// ------------------------------------------------------------------ the code flow
let flow;
await check('authorize (PKCE S256, state, nonce) redirects to /hosted/sign-in?authorization=REQ&pk=', async () => {
  const f = await authorize(need(config, 'discovery failed'));
  note(`GET ${f.url.href}`);
  const r = await getAuthorize(f.url);
  note(`-> ${r.status} ${r.location ?? ''}`);
  const { req } = hostedRequest(r);
  flow = { ...f, req };
});

await check('GET /v1/oauth2/requests/{REQ} describes the request (client, redirect_uri, scopes)', async () => {
  const { req } = need(flow, 'no authorization request');
  const d = await apiOk('GET', `/v1/oauth2/requests/${encodeURIComponent(req)}`, 200);
  note(`answer: ${JSON.stringify(d)}`);
  assert(d.client_id === pub.id, `client_id ${d.client_id}, expected ${pub.id}`);
  assert(d.client_name === pub.name, `client_name ${d.client_name}, expected ${pub.name}`);
  assert(d.redirect_uri === pub.redirect_uri, `redirect_uri ${d.redirect_uri}, expected ${pub.redirect_uri}`);
  const want = SCOPE.split(' ');
  assert(Array.isArray(d.scopes) && want.every((s) => d.scopes.includes(s)), `scopes ${JSON.stringify(d.scopes)}, expected ${JSON.stringify(want)}`);
  const bad = await api('GET', `/v1/oauth2/requests/${encodeURIComponent(req + 'x')}`);
  assert(
    bad.status === 400 && bad.json?.error?.code === 'invalid_authorization_request',
    `an altered REQ answered ${bad.status} ${bad.text.slice(0, 300)}, expected 400 invalid_authorization_request`,
  );
});

await check('POST /v1/oauth2/authorizations (org-context token) answers redirect_to with code, state, iss', async () => {
  const f = need(flow, 'no authorization request');
  const user = await signInToOrg();
  const { redirect_to } = await apiOk('POST', '/v1/oauth2/authorizations', 200, { token: user.accessToken, body: { request: f.req } });
  note(`redirect_to: ${redirect_to}`);
  const cb = new URL(redirect_to);
  assert(cb.origin + cb.pathname === pub.redirect_uri, `redirect_to goes to ${cb.origin + cb.pathname}, expected ${pub.redirect_uri}`);
  assert(cb.searchParams.get('code')?.startsWith('oac_'), `code=${cb.searchParams.get('code')}, expected oac_…`);
  assert(cb.searchParams.get('state') === f.state, `state=${cb.searchParams.get('state')}, expected ${f.state}`);
  assert(cb.searchParams.get('iss') === issuer, `iss=${cb.searchParams.get('iss')}, expected ${issuer}`);
  flow = { ...f, user, callback: cb };
});

let tokens;
await check('authorizationCodeGrant: state, iss, PKCE, id_token signature (JWKS), nonce, aud all checked', async () => {
  const f = need(flow?.callback && flow, 'no callback');
  tokens = await client.authorizationCodeGrant(need(config, 'discovery failed'), f.callback, {
    pkceCodeVerifier: f.codeVerifier,
    expectedState: f.state,
    expectedNonce: f.nonce,
    idTokenExpected: true,
  });
  const shown = { ...tokens, access_token: '…', refresh_token: tokens.refresh_token ? '…' : undefined, id_token: '…' };
  note(`token answer: ${JSON.stringify(shown)}`);
  const header = JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url').toString());
  note(`id_token header: ${JSON.stringify(header)}`);
  assert(tokens.token_type?.toLowerCase() === 'bearer', `token_type ${tokens.token_type}`);
  assert(typeof tokens.expires_in === 'number' && tokens.expires_in > 0, `expires_in ${tokens.expires_in}`);
  assert(typeof tokens.refresh_token === 'string', 'no refresh_token although offline_access was granted');
});

await check('id_token claims: sub, sid, org_id, org_role, email, email_verified', async () => {
  const c = need(tokens, 'no tokens').claims();
  note(`claims: ${JSON.stringify(c)}`);
  const problems = [];
  const eq = (k, v) => c[k] === v || problems.push(`${k}=${JSON.stringify(c[k])}, expected ${JSON.stringify(v)}`);
  eq('iss', issuer);
  eq('sub', setup.user.id);
  eq('sid', flow.user.sessionId);
  eq('org_id', setup.organization.id);
  eq('org_role', setup.organization.role);
  eq('email', setup.user.email);
  eq('email_verified', true);
  eq('nonce', flow.nonce);
  if (!(c.aud === pub.id || (Array.isArray(c.aud) && c.aud.includes(pub.id)))) problems.push(`aud=${JSON.stringify(c.aud)}`);
  if (typeof c.auth_time !== 'number') problems.push(`auth_time=${JSON.stringify(c.auth_time)}, expected a number`);
  if (c.name === undefined) note(`note: no name claim (scope profile; the user's name is ${JSON.stringify(setup.user.name)})`);
  else eq('name', setup.user.name);
  assert(problems.length === 0, problems.join('; '));
});

let refreshed;
await check('refreshTokenGrant: a new id_token (signature, iss, aud checked) that keeps sub, sid, org_id', async () => {
  const t = need(tokens, 'no tokens');
  refreshed = await client.refreshTokenGrant(config, need(t.refresh_token, 'no refresh token'));
  const c = refreshed.claims();
  note(`claims after refresh: ${JSON.stringify(c)}`);
  assert(c, 'the refresh answer has no id_token');
  const before = t.claims();
  const problems = [];
  for (const k of ['sub', 'sid', 'org_id', 'org_role']) {
    if (c[k] !== before[k]) problems.push(`${k}=${JSON.stringify(c[k])}, was ${JSON.stringify(before[k])}`);
  }
  if (c.nonce !== undefined) problems.push(`nonce ${JSON.stringify(c.nonce)} in a refreshed id_token`);
  if (refreshed.refresh_token === t.refresh_token) problems.push('the refresh token was not rotated');
  assert(problems.length === 0, problems.join('; '));
});

await check('fetchUserInfo: sub, email, email_verified, org_id, org_role', async () => {
  const at = (refreshed ?? need(tokens, 'no tokens')).access_token;
  const u = await client.fetchUserInfo(config, at, setup.user.id);
  note(`userinfo: ${JSON.stringify(u)}`);
  const problems = [];
  const eq = (k, v) => u[k] === v || problems.push(`${k}=${JSON.stringify(u[k])}, expected ${JSON.stringify(v)}`);
  eq('sub', setup.user.id);
  eq('email', setup.user.email);
  eq('email_verified', true);
  eq('org_id', setup.organization.id);
  eq('org_role', setup.organization.role);
  assert(problems.length === 0, problems.join('; '));
  const bad = await fetch(new URL(config.serverMetadata().userinfo_endpoint), { headers: { authorization: 'Bearer not-a-token' } });
  const wa = bad.headers.get('www-authenticate') ?? '';
  assert(bad.status === 401 && /invalid_token/.test(wa), `a bad token got ${bad.status} WWW-Authenticate: ${JSON.stringify(wa)}, expected 401 with error="invalid_token"`);
});

// ------------------------------------------------------------------ refusals
await check('authorize with an unregistered redirect_uri: a 400 page, no redirect', async () => {
  const f = await authorize(need(config, 'discovery failed'), { redirectUri: pub.redirect_uri + '/elsewhere' });
  const r = await getAuthorize(f.url);
  note(`-> ${r.status} ${r.contentType} Location: ${r.location}`);
  assert(r.status === 400, `answered ${r.status}, expected 400`);
  assert(!r.location, `answered with Location: ${r.location}`);
  assert(/text\/html/.test(r.contentType ?? ''), `content-type ${r.contentType}, expected an HTML page`);
});

await check('public client without PKCE: error=invalid_request redirect (openid-client raises AuthorizationResponseError)', async () => {
  expectAuthorizationError(await errorRedirect({}, { pkce: false }), 'invalid_request');
});

/** An authorize request whose answer must be an error redirect to the client, with state and iss. */
async function errorRedirect(extra, { pkce = true } = {}) {
  const f = await authorize(need(config, 'discovery failed'), { extra, pkce });
  const r = await getAuthorize(f.url);
  note(`GET ${f.url.href}`, `-> ${r.status} Location: ${r.location}`);
  assert(REDIRECT.includes(r.status) && r.location, `answered ${r.status}, expected a 302/303 redirect to the redirect_uri: ${r.body.slice(0, 300)}`);
  const cb = new URL(r.location);
  assert(cb.origin + cb.pathname === pub.redirect_uri, `redirected to ${r.location}, expected ${pub.redirect_uri}?error=…`);
  return refused(() => client.authorizationCodeGrant(config, cb, { expectedState: f.state }), 'the error redirect');
}
function expectAuthorizationError(e, code) {
  assert(
    e instanceof client.AuthorizationResponseError && e.error === code,
    `expected AuthorizationResponseError error=${code}, got ${describe(e)}`,
  );
}

await check('prompt=none (no session at Authio): error=login_required, raised by openid-client', async () => {
  expectAuthorizationError(await errorRedirect({ prompt: 'none' }), 'login_required');
});

await check('a scope the client may not have: error=invalid_scope, raised by openid-client', async () => {
  expectAuthorizationError(await errorRedirect({ scope: 'openid email admin' }), 'invalid_scope');
});

await check('response_type=token: error=unsupported_response_type, raised by openid-client', async () => {
  expectAuthorizationError(await errorRedirect({ response_type: 'token' }), 'unsupported_response_type');
});

await check('Cancel (POST /v1/oauth2/authorizations/deny): error=access_denied, raised by openid-client', async () => {
  const f = await authorize(need(config, 'discovery failed'));
  const { req } = hostedRequest(await getAuthorize(f.url));
  const { redirect_to } = await apiOk('POST', '/v1/oauth2/authorizations/deny', 200, { body: { request: req } });
  note(`redirect_to: ${redirect_to}`);
  const e = await refused(
    () => client.authorizationCodeGrant(config, new URL(redirect_to), { pkceCodeVerifier: f.codeVerifier, expectedState: f.state }),
    'the denial',
  );
  assert(
    e instanceof client.AuthorizationResponseError && e.error === 'access_denied',
    `expected AuthorizationResponseError error=access_denied, got ${describe(e)}`,
  );
});

await check('wrong code_verifier: invalid_grant', async () => {
  const f = await throughUser(await authorize(need(config, 'discovery failed')));
  const e = await refused(
    () =>
      client.authorizationCodeGrant(config, f.callback, {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: f.state,
        expectedNonce: f.nonce,
      }),
    'a wrong code_verifier',
  );
  expectOAuthError(e, 'invalid_grant');
});

await check('code redeemed twice: invalid_grant, and the first redemption\'s refresh token then fails', async () => {
  const f = await throughUser(await authorize(need(config, 'discovery failed')));
  const checks = { pkceCodeVerifier: f.codeVerifier, expectedState: f.state, expectedNonce: f.nonce };
  const first = await client.authorizationCodeGrant(config, f.callback, checks);
  const rt = need(first.refresh_token, 'no refresh token from the first redemption');
  expectOAuthError(await refused(() => client.authorizationCodeGrant(config, f.callback, checks), 'the second redemption'), 'invalid_grant');
  expectOAuthError(await refused(() => client.refreshTokenGrant(config, rt), "the first redemption's refresh token"), 'invalid_grant');
});

let spare;
await check('tampered state: openid-client refuses the callback', async () => {
  const f = await throughUser(await authorize(need(config, 'discovery failed')));
  const cb = new URL(f.callback);
  cb.searchParams.set('state', f.state + 'x');
  const e = await refused(
    () => client.authorizationCodeGrant(config, cb, { pkceCodeVerifier: f.codeVerifier, expectedState: f.state, expectedNonce: f.nonce }),
    'a callback with another state',
  );
  assert(/"state"/.test(describe(e)), `refused, but not for the state: ${describe(e)}`);
  spare = f; // its code is still unspent: the iss check below reuses it
});

await check('iss mix-up: openid-client refuses a callback whose iss is another issuer, or that has none', async () => {
  const f = need(spare, 'no unspent callback (the tampered-state check failed)');
  const checks = { pkceCodeVerifier: f.codeVerifier, expectedState: f.state, expectedNonce: f.nonce };
  const cb = new URL(f.callback);
  cb.searchParams.set('iss', 'https://attacker.example');
  const e = await refused(() => client.authorizationCodeGrant(config, cb, checks), 'a callback from another issuer');
  assert(/"iss"/.test(describe(e)), `refused, but not for the iss: ${describe(e)}`);
  const none = new URL(f.callback);
  none.searchParams.delete('iss');
  const e2 = await refused(() => client.authorizationCodeGrant(config, none, checks), 'a callback without iss');
  assert(/"iss"/.test(describe(e2)), `refused, but not for the iss: ${describe(e2)}`);
});

await check("an id_token for another client: openid-client refuses its aud", async () => {
  // The tokens are the public client's (the code is its own; the token request is
  // rewritten to name it), but this openid-client is configured as the other client, so
  // the id_token's aud is not its client_id.
  const f = await throughUser(await authorize(need(config, 'discovery failed')));
  const rewrite = async (url, options) => {
    if (String(url) === config.serverMetadata().token_endpoint && options.body) {
      const body = new URLSearchParams(String(options.body));
      body.set('client_id', pub.id);
      options = { ...options, body: body.toString() };
    }
    return fetch(url, options);
  };
  const asOther = await client.discovery(new URL(issuer), other.id, undefined, client.None(), {
    ...insecure,
    [client.customFetch]: rewrite,
  });
  const e = await refused(
    () => client.authorizationCodeGrant(asOther, f.callback, { pkceCodeVerifier: f.codeVerifier, expectedState: f.state, expectedNonce: f.nonce }),
    "another client's id_token",
  );
  assert(/"aud"/.test(describe(e)), `refused, but not for the aud: ${describe(e)}`);
});

// ------------------------------------------------------------------ an ES256 project
await check('ES256 project: authorizationCodeGrant validates an ES256 id_token (its kid among both projects\' keys)', async () => {
  const p = need(setup.es256, 'no ES256 project (provisioning failed)');
  const cfg = await client.discovery(new URL(issuer), p.client.id, undefined, client.None(), insecure);
  const f = await throughUser(await authorize(cfg, { redirectUri: p.client.redirect_uri }), p);
  const t = await client.authorizationCodeGrant(cfg, f.callback, {
    pkceCodeVerifier: f.codeVerifier,
    expectedState: f.state,
    expectedNonce: f.nonce,
    idTokenExpected: true,
  });
  const header = JSON.parse(Buffer.from(t.id_token.split('.')[0], 'base64url').toString());
  const jwks = await (await fetch(cfg.serverMetadata().jwks_uri)).json();
  note(`id_token header: ${JSON.stringify(header)}; JWKS: ${jwks.keys.map((k) => `${k.kty}/${k.crv}/${k.alg} ${k.kid}`).join(', ')}`);
  assert(header.alg === 'ES256', `the id_token is signed ${header.alg}, expected ES256`);
  const c = t.claims();
  assert(c.sub === p.user.id && c.org_id === p.organization.id && c.aud === p.client.id, `claims ${JSON.stringify(c)}`);
  const r = await client.refreshTokenGrant(cfg, need(t.refresh_token, 'no refresh token'));
  assert(r.claims()?.org_id === p.organization.id, `refreshed claims ${JSON.stringify(r.claims())}`);
});

// ------------------------------------------------------------------ logout (last: it ends the first flow's session)
await check('buildEndSessionUrl (id_token_hint, post_logout_redirect_uri, state): back to the client; the session is revoked', async () => {
  const t = need(refreshed ?? tokens, 'no tokens');
  const state = client.randomState();
  const url = client.buildEndSessionUrl(config, { id_token_hint: t.id_token, post_logout_redirect_uri: pub.redirect_uri, state });
  const r = await getAuthorize(url);
  note(`GET ${url.href}`, `-> ${r.status} Location: ${r.location}`);
  assert(REDIRECT.includes(r.status), `answered ${r.status}, expected a redirect to ${pub.redirect_uri}: ${r.body.slice(0, 300)}`);
  const back = new URL(r.location, issuer);
  assert(back.origin + back.pathname === pub.redirect_uri, `redirected to ${back.href}, expected ${pub.redirect_uri}`);
  assert(back.searchParams.get('state') === state, `state=${back.searchParams.get('state')}, expected ${state}`);
  expectOAuthError(await refused(() => client.refreshTokenGrant(config, t.refresh_token), 'a refresh in the ended session'), 'invalid_grant');
  const u = await fetch(new URL(config.serverMetadata().userinfo_endpoint), { headers: { authorization: `Bearer ${t.access_token}` } });
  assert(u.status === 401, `userinfo with the ended session's access token answered ${u.status}, expected 401`);
});

console.log(`  node: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
