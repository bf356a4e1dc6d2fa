// Starts the real Authio server (a copy of target/debug/authio on a temporary SQLite
// database, or on HOSTED_DATABASE_URL when set: an empty database, e.g. the throwaway
// PostgreSQL database scripts/web-check creates; mail to files, WebAuthn RP id `localhost`), sets a project up through its
// API (tenant, test API key), serves the test app (e2e/app + the built @authio/js) on
// http://127.0.0.1:<port>, and the hosted pages on http://localhost:<port>: the binary's
// own /hosted/ with HOSTED_FROM_BINARY=1, else dist/ through `vite preview` proxying
// /v1, /oauth2 and /.well-known (the issuer is that origin either way). The browser uses
// `localhost` for the hosted pages (WebAuthn needs a domain RP id) and 127.0.0.1 for the
// app, so the two are different origins, as in production. For the SSO flows it starts,
// before the server, a real upstream OpenID Connect provider (scripts/sso/idp.mjs: node
// oidc-provider, installed in AUTHIO_SSO_NODE, default target/sso-node, by
// `scripts/sso-conformance --install-only`) and the DNS stub scripts/dns-stub.py (the
// server's AUTHIO_DNS_RESOLVER, so organizations verify their domains). The tests get
// the rest through the environment (HOSTED_SETUP, JSON).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { preview } from 'vite';
import type { HostedSetup } from './setup-types';

const here = dirname(fileURLToPath(import.meta.url));
const appDir = resolve(here, '..');
const repo = resolve(appDir, '../../..');
const binary = process.env.AUTHIO_BIN ?? join(repo, 'target/debug/authio');
const sdk = resolve(appDir, '../../packages/js/dist/index.js');
const ssoNode = process.env.AUTHIO_SSO_NODE ?? join(repo, 'target/sso-node');

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => ok(port));
    });
  });
}

async function healthy(url: string, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`authio serve exited with ${child.exitCode}; see ${log}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within 60 s; see ${log}`);
}

async function call<T>(api: string, method: string, path: string, credential: string, body?: unknown): Promise<T> {
  const res = await fetch(api + path, {
    method,
    headers: { authorization: `Bearer ${credential}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * Start a helper that writes `ready` (JSON) once it listens; its answer. Fails when it
 * exits first or takes more than 60 s (its log is `log`).
 */
async function helper(cmd: string, args: string[], cwd: string, ready: string, log: string): Promise<{ child: ChildProcess; ready: unknown }> {
  const out = createWriteStream(log);
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const deadline = Date.now() + 60_000;
  while (!existsSync(ready)) {
    if (child.exitCode !== null) throw new Error(`${cmd} ${args.join(' ')} exited with ${child.exitCode}; see ${log}`);
    if (Date.now() > deadline) throw new Error(`${cmd} ${args.join(' ')} was not ready within 60 s; see ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, ready: JSON.parse(readFileSync(ready, 'utf8')) as unknown };
}

/**
 * The SSO flows' organization (e2e/sso.spec.ts), made once: a project verifies a domain
 * for one organization only. It claims acme.example, publishes the TXT record in the DNS
 * stub and verifies it, connects the identity provider (jit_role member) and admits only
 * SSO.
 */
async function ssoSetUp(api: string, secret: string, idp: HostedSetup['idp'], dnsControl: string): Promise<HostedSetup['ssoOrganization']> {
  const org = await call<{ id: string; name: string }>(api, 'POST', '/v1/organizations', secret, { name: 'Acme SSO' });
  const d = await call<{ id: string; verification: { name: string; value: string } }>(
    api,
    'POST',
    `/v1/organizations/${org.id}/domains`,
    secret,
    { domain: 'acme.example' },
  );
  const txt = await fetch(`${dnsControl}/txt`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: d.verification.name, value: d.verification.value }),
  });
  if (!txt.ok) throw new Error(`the DNS stub's control answered ${txt.status}: ${await txt.text()}`);
  const verified = await call<{ state: string }>(api, 'POST', `/v1/organizations/${org.id}/domains/${d.id}/verify`, secret, {});
  if (verified.state !== 'verified') throw new Error(`acme.example is ${verified.state}, not verified`);
  await call(api, 'POST', `/v1/organizations/${org.id}/connections`, secret, {
    name: 'Acme IdP',
    issuer: idp.issuer,
    client_id: idp.clientId,
    client_secret: idp.clientSecret,
    jit_role: 'member',
  });
  await call(api, 'PUT', `/v1/organizations/${org.id}/policy`, secret, {
    allowed_methods: ['sso'],
    require_passkey: false,
    max_session_age_seconds: null,
  });
  return { id: org.id, name: org.name };
}

/** The test app: its page for every path, its script, the built SDK and its config. */
function appServer(config: { baseUrl: string; publishableKey: string }): Server {
  const files: Record<string, [string, string]> = {
    '/app.js': [join(here, 'app/app.js'), 'text/javascript'],
    '/authio.js': [sdk, 'text/javascript'],
  };
  return createHttpServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    res.setHeader('cache-control', 'no-store');
    if (path === '/config.json') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(config));
      return;
    }
    const file = files[path];
    if (file) {
      res.setHeader('content-type', file[1]);
      res.end(readFileSync(file[0]));
      return;
    }
    if (path.includes('.')) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(readFileSync(join(here, 'app/index.html')));
  });
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(binary)) throw new Error(`${binary} is missing: build it with cargo first`);
  const fromBinary = process.env.HOSTED_FROM_BINARY === '1';
  if (!fromBinary && !existsSync(join(appDir, 'dist/index.html'))) throw new Error('dist/ is missing: run `npm run build` first');
  if (!existsSync(sdk)) throw new Error(`${sdk} is missing: build @authio/js first (npm run build in web/)`);
  if (!existsSync(join(ssoNode, 'node_modules/oidc-provider')) || !existsSync(join(ssoNode, 'idp.mjs'))) {
    throw new Error(`${ssoNode} has no oidc-provider: run scripts/sso-conformance --install-only (scripts/web-check does)`);
  }

  const tmp = mkdtempSync(join(tmpdir(), 'authio-hosted-e2e-'));
  const bin = join(tmp, 'authio');
  copyFileSync(binary, bin);
  mkdirSync(join(tmp, 'mail'));
  const port = await freePort();
  const webPort = fromBinary ? port : await freePort();
  // The browser's origin of the hosted pages (and, for the app, of Authio).
  const hosted = `http://localhost:${webPort}`;
  // Node's side of the API (node may resolve `localhost` to ::1, where nothing listens).
  const api = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    // A new, empty database: `authio migrate` below creates the schema.
    DATABASE_URL: process.env.HOSTED_DATABASE_URL || `sqlite://${tmp}/authio.db`,
    AUTHIO_ADDR: `127.0.0.1:${port}`,
    // The issuer is the hosted pages' origin: /oauth2/authorize sends the browser to <issuer>/hosted/sign-in.
    AUTHIO_ISSUER: hosted,
    AUTHIO_MAIL_URL: `file://${tmp}/mail`,
    AUTHIO_WEBAUTHN_RP_ID: 'localhost',
    AUTHIO_WEBAUTHN_ORIGIN: hosted,
    RUST_LOG: 'warn',
  };
  // The upstream identity provider (its client's redirect URI is the server's SSO
  // callback) and the DNS stub, before the server, which needs the stub's address.
  const helpers: ChildProcess[] = [];
  const stopHelpers = () => helpers.forEach((h) => h.exitCode === null && h.kill('SIGTERM'));
  // Whatever fails later in the set-up, they do not outlive the run.
  process.once('exit', stopHelpers);
  let idp: HostedSetup['idp'];
  let dnsControl: string;
  try {
    const idpLog = join(tmp, 'idp.log');
    const i = await helper(
      'node',
      ['idp.mjs', '--redirect-uri', `${hosted}/v1/auth/sso/callback`, '--out', join(tmp, 'idp.json')],
      ssoNode,
      join(tmp, 'idp.json'),
      idpLog,
    );
    helpers.push(i.child);
    const ready = i.ready as { issuer: string; clients: { rs256: { client_id: string; client_secret: string } } };
    idp = { issuer: ready.issuer, clientId: ready.clients.rs256.client_id, clientSecret: ready.clients.rs256.client_secret, log: idpLog };
    const d = await helper('python3', [join(repo, 'scripts/dns-stub.py'), '--ready', join(tmp, 'dns.json')], tmp, join(tmp, 'dns.json'), join(tmp, 'dns.log'));
    helpers.push(d.child);
    const dns = d.ready as { resolver: string; control: string };
    dnsControl = dns.control;
    Object.assign(env, {
      AUTHIO_DNS_RESOLVER: dns.resolver,
      // The connections' client secrets are sealed with it.
      AUTHIO_SECRET_KEY: randomBytes(32).toString('hex'),
      // The identity provider is on loopback.
      AUTHIO_WEBHOOK_ALLOW_PRIVATE: 'true',
    });
  } catch (e) {
    stopHelpers();
    throw e;
  }

  const run = promisify(execFile);
  await run(bin, ['migrate'], { env, cwd: tmp });
  const console_ = (await run(bin, ['operators', 'token', '--email', 'owner@example.com'], { env, cwd: tmp })).stdout.trim();
  if (!console_.startsWith('cs_')) throw new Error(`authio operators token printed ${JSON.stringify(console_)}`);

  const log = join(tmp, 'authio.log');
  const out = createWriteStream(log);
  const server = spawn(bin, ['serve'], { env, cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout?.pipe(out);
  server.stderr?.pipe(out);
  const stop = async () => {
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
  };

  let web: Awaited<ReturnType<typeof preview>> | undefined;
  let app: Server | undefined;
  try {
    await healthy(`${api}/healthz`, server, log);

    const projectName = 'Hosted Demo SaaS';
    const tenant = await call<{ id: string }>(api, 'POST', '/v1/session/tenants', console_, { name: projectName });
    const key = await call<{ secret: string; publishable_key: string }>(
      api,
      'POST',
      `/v1/session/tenants/${tenant.id}/api-keys`,
      console_,
      { name: 'hosted e2e', environment: 'test' },
    );

    if (!fromBinary) {
      web = await preview({
        root: appDir,
        configFile: join(appDir, 'vite.config.ts'),
        logLevel: 'warn',
        preview: {
          host: '127.0.0.1',
          port: webPort,
          strictPort: true,
          open: false,
          proxy: {
            '/v1': { target: api, changeOrigin: false },
            '/oauth2': { target: api, changeOrigin: false },
            '/.well-known': { target: api, changeOrigin: false },
          },
        },
      });
    }

    const ssoOrganization = await ssoSetUp(api, key.secret, idp, dnsControl);

    const appPort = await freePort();
    app = appServer({ baseUrl: hosted, publishableKey: key.publishable_key });
    await new Promise<void>((ok) => app!.listen(appPort, '127.0.0.1', ok));

    const setup: HostedSetup = {
      hosted,
      api,
      app: `http://127.0.0.1:${appPort}`,
      projectName,
      projectId: tenant.id,
      secretKey: key.secret,
      publishableKey: key.publishable_key,
      consoleToken: console_,
      mailDir: join(tmp, 'mail'),
      serverLog: log,
      idp,
      dnsControl,
      ssoOrganization,
    };
    process.env.HOSTED_SETUP = JSON.stringify(setup);
  } catch (e) {
    await web?.close();
    app?.close();
    await stop();
    stopHelpers();
    throw e;
  }

  return async () => {
    await web?.close();
    app?.closeAllConnections();
    await new Promise((r) => (app ? app.close(r) : r(undefined)));
    await stop();
    stopHelpers();
    if (process.env.KEEP_E2E_TMP) console.log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  };
}
