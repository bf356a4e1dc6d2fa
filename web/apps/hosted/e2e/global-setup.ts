// Starts the real Authio server (a copy of target/debug/authio on a temporary SQLite
// database, or on HOSTED_DATABASE_URL when set: an empty database, e.g. the throwaway
// PostgreSQL database scripts/web-check creates; mail to files, WebAuthn RP id `localhost`), sets a project up through its
// API (tenant, test API key), serves the test app (e2e/app + the built @authio/js) on
// http://127.0.0.1:<port>, and the hosted pages on http://localhost:<port>: the binary's
// own /hosted/ with HOSTED_FROM_BINARY=1, else dist/ through `vite preview` proxying
// /v1, /oauth2 and /.well-known (the issuer is that origin either way). The browser uses
// `localhost` for the hosted pages (WebAuthn needs a domain RP id) and 127.0.0.1 for the
// app, so the two are different origins, as in production. The tests get the rest
// through the environment (HOSTED_SETUP, JSON).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
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
    };
    process.env.HOSTED_SETUP = JSON.stringify(setup);
  } catch (e) {
    await web?.close();
    app?.close();
    await stop();
    throw e;
  }

  return async () => {
    await web?.close();
    app?.closeAllConnections();
    await new Promise((r) => (app ? app.close(r) : r(undefined)));
    await stop();
    if (process.env.KEEP_E2E_TMP) console.log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  };
}
