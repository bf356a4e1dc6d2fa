// The e2e run (npm run e2e): starts the real Authio server (a copy of
// target/debug/authio on a fresh SQLite database in a temporary directory), sets up a
// project through the API (console token → tenant → test API key → organizations Acme
// and Globex → one user per flow, a member of both → a sign-in token each), and serves
// the built demo (dist/) with `vite preview`, proxying /v1 to the server so the page and
// the API share one origin (http://127.0.0.1 is a secure context: Web Locks exist).
// The tests get all of it as JSON in DEMO_SETUP.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { preview, type HttpProxy, type Plugin } from 'vite';
import type { DemoSetup, FlowUser, RefreshRecord } from './setup-types';

const here = dirname(fileURLToPath(import.meta.url));
const appDir = resolve(here, '..');
const repo = resolve(appDir, '../../..');
const binary = process.env.AUTHIO_BIN ?? join(repo, 'target/debug/authio');

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

/**
 * Every `POST /v1/sessions/refresh` the page made, with the server's answer (status,
 * error code, the context's organization and session), recorded in the proxy, and
 * served to the tests at `GET /__demo/refresh-log` (test-only, on the preview server).
 */
function refreshRecorder(): { plugin: Plugin; configure: (proxy: HttpProxy.Server) => void } {
  const log: RefreshRecord[] = [];
  const configure = (proxy: HttpProxy.Server) => {
    proxy.on('proxyRes', (res, req) => {
      if (req.method !== 'POST' || !req.url?.startsWith('/v1/sessions/refresh')) return;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let body: { session_id?: string; active_organization?: { id?: string } | null; error?: { code?: string } } = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
        } catch {
          // not JSON: recorded by status only
        }
        log.push({
          status: res.statusCode ?? 0,
          code: body.error?.code ?? null,
          sessionId: body.session_id ?? null,
          organizationId: body.active_organization ? (body.active_organization.id ?? null) : null,
        });
      });
    });
  };
  const plugin: Plugin = {
    name: 'demo-refresh-log',
    configurePreviewServer(server) {
      server.middlewares.use('/__demo/refresh-log', (_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(log));
      });
    },
  };
  return { plugin, configure };
}

async function call<T>(origin: string, method: string, path: string, credential: string, body?: unknown): Promise<T> {
  const res = await fetch(origin + path, {
    method,
    headers: { authorization: `Bearer ${credential}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(binary)) throw new Error(`${binary} is missing: build the server first (cargo build)`);
  if (!existsSync(join(appDir, 'dist/index.html'))) throw new Error('dist/ is missing: run `npm run build` first');

  const tmp = mkdtempSync(join(tmpdir(), 'authio-demo-e2e-'));
  const bin = join(tmp, 'authio');
  copyFileSync(binary, bin);
  mkdirSync(join(tmp, 'mail'));
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${tmp}/authio.db`,
    AUTHIO_ADDR: `127.0.0.1:${port}`,
    AUTHIO_ISSUER: api,
    AUTHIO_MAIL_URL: `file://${tmp}/mail`,
    RUST_LOG: 'warn',
  };
  const run = promisify(execFile);
  await run(bin, ['migrate'], { env, cwd: tmp });
  const printed = (await run(bin, ['operators', 'token', '--email', 'owner@example.com'], { env, cwd: tmp })).stdout.trim();
  if (!printed.startsWith('cs_')) throw new Error(`authio operators token printed ${JSON.stringify(printed)}`);

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
  try {
    await healthy(`${api}/healthz`, server, log);

    // ---- the project, through the API ----
    const tenant = await call<{ id: string }>(api, 'POST', '/v1/session/tenants', printed, { name: 'Demo SaaS' });
    const key = await call<{ secret: string; publishable_key: string }>(
      api,
      'POST',
      `/v1/session/tenants/${tenant.id}/api-keys`,
      printed,
      { name: 'demo e2e', environment: 'test' },
    );
    const sk = key.secret;
    if (!sk.startsWith('sk_test_') || !key.publishable_key.startsWith('pk_test_')) {
      throw new Error(`unexpected keys: ${sk.slice(0, 8)}… ${key.publishable_key.slice(0, 8)}…`);
    }
    const acme = await call<{ id: string; name: string }>(api, 'POST', '/v1/organizations', sk, { name: 'Acme' });
    const globex = await call<{ id: string; name: string }>(api, 'POST', '/v1/organizations', sk, { name: 'Globex' });

    const users: Record<string, FlowUser> = {};
    for (const flow of [
      'twoOrgs',
      'deactivation',
      'switching',
      'noLocks',
      'withLocks',
      'lagged',
      'noJournal',
      'signOutRace',
      'signInRace',
      'signInRace2',
    ]) {
      const email = `${flow.toLowerCase()}@example.com`;
      const user = await call<{ id: string }>(api, 'POST', '/v1/users', sk, { email, email_verified: true });
      const inAcme = await call<{ id: string }>(api, 'POST', '/v1/memberships', sk, {
        user_id: user.id,
        organization_id: acme.id,
        role: 'admin',
      });
      const inGlobex = await call<{ id: string }>(api, 'POST', '/v1/memberships', sk, {
        user_id: user.id,
        organization_id: globex.id,
      });
      const { token } = await call<{ token: string }>(api, 'POST', '/v1/sign-in-tokens', sk, { user_id: user.id });
      users[flow] = { id: user.id, email, signInToken: token, acmeMembership: inAcme.id, globexMembership: inGlobex.id };
    }

    // ---- the page, on one origin with the API ----
    const webPort = await freePort();
    const recorder = refreshRecorder();
    web = await preview({
      root: appDir,
      configFile: join(appDir, 'vite.config.ts'),
      logLevel: 'warn',
      plugins: [recorder.plugin],
      preview: {
        host: '127.0.0.1',
        port: webPort,
        strictPort: true,
        open: false,
        proxy: { '/v1': { target: api, changeOrigin: false, configure: recorder.configure } },
      },
    });

    const setup: DemoSetup = {
      app: `http://127.0.0.1:${webPort}`,
      api,
      secretKey: sk,
      publishableKey: key.publishable_key,
      acme: { id: acme.id, name: acme.name },
      globex: { id: globex.id, name: globex.name },
      users: users as DemoSetup['users'],
      serverLog: log,
      tmp,
      database: join(tmp, 'authio.db'),
    };
    process.env.DEMO_SETUP = JSON.stringify(setup);
  } catch (e) {
    await web?.close();
    await stop();
    throw e;
  }

  return async () => {
    await web?.close();
    await stop();
    if (process.env.KEEP_E2E_TMP) console.log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  };
}
