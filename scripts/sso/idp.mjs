// A real upstream OpenID Connect provider for Authio's organization SSO: panva's
// `oidc-provider` (the current major, pinned in package.json) on a free loopback port.
//
//   node idp.mjs --redirect-uri <AUTHIO_ISSUER>/v1/auth/sso/callback --out READY.json
//
// It starts two providers, each registering two confidential clients (client_secret_basic
// at the token endpoint, the one redirect URI given, PKCE required): `authio-rs256` signs
// its id_tokens RS256, `authio-es256` ES256 (keys made at start, published at /jwks). The
// accounts (the login name is the account id, any password) are ACCOUNTS below; their
// claims carry email + email_verified. The main provider has `conformIdTokenClaims:
// false`: the scope's claims (email, email_verified, name) are in the id_token as well
// as at userinfo, as most enterprise IdPs do. The second, "userinfo-only", is
// oidc-provider as it comes (`conformIdTokenClaims: true`, OpenID Connect Core 5.4): a
// code flow's id_token carries no email, userinfo does. The user's part is
// oidc-provider's own development interactions: GET /interaction/:uid renders a login
// (then a consent) form, POST /interaction/:uid submits it, GET /interaction/:uid/abort
// cancels (the client gets error=access_denied).
//
// When listening it writes READY.json: {issuer, clients: {rs256: {client_id,
// client_secret}, es256: {…}}, redirect_uri, accounts, userinfo_only: {issuer, clients}}
// and prints `idp: ready <issuer>` on stderr. Every request, authorization, grant and
// server error is logged on stderr (the driver keeps the log and prints its tail when a
// check fails). Stops on SIGTERM/SIGINT.
//
// Part of scripts/sso-conformance, which copies this file next to its node_modules in
// target/sso-node/ (ES modules resolve packages from the file's own folder).
import Provider from 'oidc-provider';
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync, renameSync } from 'node:fs';

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i === -1) {
    if (fallback !== undefined) return fallback;
    console.error(`idp: missing ${name} (usage: node idp.mjs --redirect-uri URL --out FILE)`);
    process.exit(2);
  }
  return process.argv[i + 1];
}
const redirectUri = arg('--redirect-uri');
const out = arg('--out');
const host = arg('--host', '127.0.0.1');

/**
 * The IdP's users. The login form's name is the key. An organization's connection signs
 * in only addresses of a domain that organization verified: organization A (jit_role
 * member) verifies acme.example, organization B (no jit_role) initech.example, and the
 * userinfo-only IdP's organization umbrella.example; a project's own connection (social
 * sign-in) is not bound to domains.
 */
const ACCOUNTS = {
  // The email of a user that already exists in Authio: linked by the verified email. A
  // member of B too, whose IdP must NOT sign her in (acme.example is not B's domain).
  ada: { email: 'ada@acme.example', email_verified: true, given_name: 'Ada', family_name: 'Lovelace' },
  // A new email in A's domain: created just in time and made a member with the connection's jit_role.
  grace: { email: 'grace@acme.example', email_verified: true, given_name: 'Grace', family_name: 'Hopper' },
  // The IdP has not verified this email: Authio must refuse it.
  mallory: { email: 'mallory@acme.example', email_verified: false, given_name: 'Mallory', family_name: 'Unverified' },
  // Verified, in B's domain, but for the organization whose connection has no jit_role and no member there.
  eve: { email: 'eve@initech.example', email_verified: true, given_name: 'Eve', family_name: 'Outsider' },
  // An existing user in B's domain, a member of B. A's IdP must not sign him in (the account-takeover guard).
  bob: { email: 'bob@initech.example', email_verified: true, given_name: 'Bob', family_name: 'Porter' },
  // A domain nobody verified: A's IdP must not sign her in even with jit_role.
  zed: { email: 'zed@elsewhere.example', email_verified: true, given_name: 'Zed', family_name: 'Elsewhere' },
  // For cancelling at the consent screen (A's domain, so only the cancel refuses her).
  dora: { email: 'dora@acme.example', email_verified: true, given_name: 'Dora', family_name: 'Cancel' },
  // The project's own connection (social sign-in): a domain nobody verified, signs up all the same.
  carol: { email: 'carol@example.com', email_verified: true, given_name: 'Carol', family_name: 'Social' },
  // The userinfo-only IdP's organization (Umbrella) verifies umbrella.example.
  uma: { email: 'uma@umbrella.example', email_verified: true, given_name: 'Uma', family_name: 'Brella' },
};

function signingKeys() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return [
    { ...rsa, kid: `rsa-${randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' },
    { ...ec, kid: `ec-${randomBytes(4).toString('hex')}`, alg: 'ES256', use: 'sig' },
  ];
}

const log = (...parts) => console.error(`idp: ${parts.join(' ')}`);

/**
 * One oidc-provider on a free port of `host`. `conformIdTokenClaims` as oidc-provider
 * means it: true (its default) keeps the scope's claims (email, …) out of a code flow's
 * id_token, at userinfo only (OpenID Connect Core 5.4); false puts them in the id_token too.
 */
async function startProvider({ name, conformIdTokenClaims }) {
  const t0 = Date.now();
  const clients = {
    rs256: { client_id: 'authio-rs256', client_secret: randomBytes(24).toString('base64url') },
    es256: { client_id: 'authio-es256', client_secret: randomBytes(24).toString('base64url') },
  };
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const issuer = `http://${host}:${server.address().port}`;
  log(`[${name}] listening on ${issuer} (${Date.now() - t0} ms)`);
  const keys = signingKeys();
  log(`[${name}] RS256 + ES256 signing keys made (${Date.now() - t0} ms)`);
  const provider = new Provider(issuer, {
    clients: Object.entries(clients).map(([alg, c]) => ({
      ...c,
      client_name: `Authio SSO (${alg.toUpperCase()})`,
      redirect_uris: [redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: alg.toUpperCase(),
    })),
    jwks: { keys },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
    },
    conformIdTokenClaims,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, id) {
      const a = ACCOUNTS[id];
      if (!a) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, ...a, name: `${a.given_name} ${a.family_name}` };
        },
      };
    },
  });

  const say = (...parts) => log(`[${name}]`, ...parts);
  provider.on('authorization.accepted', (ctx) =>
    say('authorization accepted', ctx.oidc.params?.client_id ?? '', `(redirect_uri ${ctx.oidc.params?.redirect_uri})`));
  provider.on('authorization.error', (ctx, err) =>
    say('authorization error', err.error ?? err.name, err.error_description ?? err.message, `(query ${ctx.querystring})`));
  provider.on('authorization.success', (ctx) => say('authorization success for', ctx.oidc.client?.clientId ?? '?'));
  provider.on('interaction.started', (ctx, prompt) => say('interaction started:', prompt.name, JSON.stringify(prompt.reasons)));
  provider.on('interaction.ended', () => say('interaction ended'));
  provider.on('grant.success', (ctx) => say('token endpoint: grant success for', ctx.oidc.client?.clientId ?? '?'));
  provider.on('grant.error', (ctx, err) =>
    say('token endpoint: grant error', err.error ?? err.name, err.error_description ?? err.message,
      `(auth header ${ctx.get('authorization') ? ctx.get('authorization').split(' ')[0] : 'none'})`));
  provider.on('userinfo.error', (ctx, err) => say('userinfo error', err.error ?? err.name, err.error_description ?? err.message));
  provider.on('discovery.error', (ctx, err) => say('discovery error', err.message));
  provider.on('jwks.error', (ctx, err) => say('jwks error', err.message));
  provider.on('server_error', (ctx, err) => say('SERVER ERROR', err.stack ?? err));

  const handler = provider.callback();
  server.on('request', (req, res) => {
    say(req.method, req.url.length > 200 ? `${req.url.slice(0, 200)}…` : req.url);
    handler(req, res);
  });
  log(`[${name}] provider up (${Date.now() - t0} ms)`);
  return { server, issuer, clients, conformIdTokenClaims };
}

// The main IdP: email in the id_token (as most enterprise IdPs do).
const main = await startProvider({ name: 'main', conformIdTokenClaims: false });
// oidc-provider as it comes: email at userinfo only.
const strict = await startProvider({ name: 'userinfo-only', conformIdTokenClaims: true });

const ready = {
  issuer: main.issuer,
  clients: main.clients,
  redirect_uri: redirectUri,
  accounts: ACCOUNTS,
  userinfo_only: { issuer: strict.issuer, clients: strict.clients },
};
writeFileSync(`${out}.tmp`, JSON.stringify(ready, null, 2));
renameSync(`${out}.tmp`, out);
log('ready', main.issuer, `(userinfo-only: ${strict.issuer})`);

// In-memory state only: nothing to flush.
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
