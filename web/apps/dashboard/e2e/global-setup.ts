// Starts the real Authio server (a copy of target/debug/authio, on a temporary SQLite
// database, or on DASHBOARD_DATABASE_URL when set: an empty database, e.g. the throwaway
// PostgreSQL database scripts/web-check creates) and, unless DASHBOARD_FROM_BINARY=1 (the
// binary's own /dashboard/), a static server for dist/ that proxies /v1 to it. Hands the
// tests the dashboard's URL, a console token and the mail directory through the environment.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { preview } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const appDir = resolve(here, '..');
const repo = resolve(appDir, '../../..');
const binary = process.env.AUTHIO_BIN ?? join(repo, 'target/debug/authio');

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => ok(port));
    });
  });
}

async function waitFor(url: string, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`authio serve exited with ${child.exitCode}; see ${log}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within 60 s; see ${log}`);
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(binary)) throw new Error(`${binary} is missing: build it with cargo first`);
  if (!existsSync(join(appDir, 'dist/index.html'))) throw new Error('dist/ is missing: run `npm run build` first');

  const tmp = mkdtempSync(join(tmpdir(), 'authio-dashboard-e2e-'));
  const bin = join(tmp, 'authio');
  copyFileSync(binary, bin);
  mkdirSync(join(tmp, 'mail'));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    // A new, empty database: `authio migrate` below creates the schema.
    DATABASE_URL: process.env.DASHBOARD_DATABASE_URL || `sqlite://${tmp}/a.db`,
    AUTHIO_ADDR: `127.0.0.1:${port}`,
    AUTHIO_ISSUER: origin,
    AUTHIO_MAIL_URL: `file://${tmp}/mail`,
    // The webhook flow points an endpoint at a receiver of the test's own on 127.0.0.1,
    // and a failed delivery gives up after one retry 300 ms later (not about a day).
    AUTHIO_WEBHOOK_ALLOW_PRIVATE: 'true',
    AUTHIO_WEBHOOK_RETRY_SCHEDULE: process.env.AUTHIO_WEBHOOK_RETRY_SCHEDULE ?? '300ms',
    // SSO connections are sealed with it (without it: 503 encryption_key_missing); the
    // SAML flow adds one.
    AUTHIO_SECRET_KEY: randomBytes(32).toString('hex'),
    RUST_LOG: 'warn',
  };
  const run = promisify(execFile);
  await run(bin, ['migrate'], { env, cwd: tmp });
  const { stdout } = await run(bin, ['operators', 'token', '--email', 'owner@example.com'], { env, cwd: tmp });
  const token = stdout.trim();
  if (!token.startsWith('cs_')) throw new Error(`authio operators token printed ${JSON.stringify(stdout)}`);

  const log = join(tmp, 'authio.log');
  const out = createWriteStream(log);
  const server = spawn(bin, ['serve'], { env, cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout?.pipe(out);
  server.stderr?.pipe(out);
  await waitFor(`${origin}/healthz`, server, log);

  // DASHBOARD_FROM_BINARY=1: the pages the binary embeds and serves at /dashboard/ (what
  // scripts/web-check runs); otherwise dist/ through `vite preview`, proxying /v1.
  let web: { close(): Promise<void> } | null = null;
  if (process.env.DASHBOARD_FROM_BINARY === '1') {
    process.env.DASHBOARD_ORIGIN = origin;
  } else {
    const webPort = await freePort();
    web = await preview({
      root: appDir,
      configFile: join(appDir, 'vite.config.ts'),
      logLevel: 'warn',
      preview: {
        host: '127.0.0.1',
        port: webPort,
        strictPort: true,
        open: false,
        proxy: { '/v1': { target: origin, changeOrigin: false } },
      },
    });
    process.env.DASHBOARD_ORIGIN = `http://127.0.0.1:${webPort}`;
  }
  process.env.AUTHIO_ORIGIN = origin;
  process.env.AUTHIO_CONSOLE_TOKEN = token;
  process.env.AUTHIO_MAIL_DIR = join(tmp, 'mail');
  process.env.AUTHIO_SERVER_LOG = log;

  return async () => {
    await web?.close();
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r(null) : server.once('exit', r)));
    if (process.env.KEEP_E2E_TMP) console.log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  };
}
