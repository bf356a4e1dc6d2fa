import { expect, test as base, type Locator, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DemoSetup, FlowUser, RefreshRecord } from './setup-types';

const here = dirname(fileURLToPath(import.meta.url));
export const SCREENSHOTS = process.env.SCREENSHOT_DIR ?? resolve(here, '../../../../target/screenshots');

let parsed: DemoSetup | undefined;
/** What global-setup.ts made (server, keys, organizations, users). */
export function setup(): DemoSetup {
  if (!parsed) {
    const raw = process.env.DEMO_SETUP;
    if (!raw) throw new Error('DEMO_SETUP is not set: run through playwright.config.ts (global-setup.ts)');
    parsed = JSON.parse(raw) as DemoSetup;
  }
  return parsed;
}

// ---- the server, with the project's secret key ----

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const s = setup();
  const res = await fetch(s.api + path, {
    method,
    headers: {
      authorization: `Bearer ${s.secretKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * A sign-in token for the user: the one global setup made, the first time; a new one
 * (`POST /v1/sign-in-tokens`) after that (the tokens are single-use, and a flow may be
 * repeated with --repeat-each, in new worker processes: a marker file remembers).
 */
export async function signInTokenFor(user: FlowUser): Promise<string> {
  const marker = join(setup().tmp, `used-${user.id}`);
  if (!existsSync(marker)) {
    writeFileSync(marker, '');
    return user.signInToken;
  }
  return (await api<{ token: string }>('POST', '/v1/sign-in-tokens', { user_id: user.id })).token;
}

export interface Envelope {
  id: string;
  type: string;
  position: number;
  organization_id: string | null;
  data: Record<string, unknown>;
}

/** The position of the project's newest event (0 when none). */
export async function headPosition(): Promise<number> {
  const page = await api<{ data: Envelope[] }>('GET', '/v1/audit-events?limit=1');
  return page.data[0]?.position ?? 0;
}

/** Every event of the project after `position`, of these types (`GET /v1/events`). */
export async function eventsSince(position: number, types: string): Promise<Envelope[]> {
  const out: Envelope[] = [];
  let after = String(position);
  for (;;) {
    const page = await api<{ data: Envelope[]; next_cursor: string | null }>(
      'GET',
      `/v1/events?after=${after}&limit=100&types=${encodeURIComponent(types)}`,
    );
    out.push(...page.data);
    if (!page.next_cursor) return out;
    after = page.next_cursor;
  }
}

// Refreshes are not audited (GET /v1/events leaves `session.context_refreshed` out on
// purpose), so they are counted twice over: on the wire (every refresh the page sent
// through the proxy, with the server's answer) and in the server's event store (its
// SQLite file, read-only, with the sqlite3 program when it is installed).

/** Where the counts stood: refreshes on the wire, the event store's last row, the events API's position. */
export interface Mark {
  wire: number;
  store: number | null;
  position: number;
}

async function refreshLog(): Promise<RefreshRecord[]> {
  const res = await fetch(`${setup().app}/__demo/refresh-log`);
  if (!res.ok) throw new Error(`refresh log: ${res.status}`);
  return (await res.json()) as RefreshRecord[];
}

let sqlite: boolean | undefined;
function store(sql: string): Record<string, unknown>[] | null {
  if (sqlite === false) return null;
  try {
    const out = execFileSync('sqlite3', ['-readonly', '-json', setup().database, sql], { encoding: 'utf8' });
    sqlite = true;
    return out.trim() ? (JSON.parse(out) as Record<string, unknown>[]) : [];
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') {
      sqlite = false;
      return null;
    }
    throw e;
  }
}

export async function mark(): Promise<Mark> {
  const rows = store('SELECT COALESCE(MAX(id), 0) AS id FROM events');
  return { wire: (await refreshLog()).length, store: rows ? Number(rows[0]?.id ?? 0) : null, position: await headPosition() };
}

const countBy = (orgs: (string | null)[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const o of orgs) counts[o ?? 'none'] = (counts[o ?? 'none'] ?? 0) + 1;
  return counts;
};

/** Successful refreshes of one session since `m`, per organization (`none` for none), as the proxy saw the server answer them. */
export async function refreshesSince(m: Mark, sessionId: string): Promise<Record<string, number>> {
  const log = (await refreshLog()).slice(m.wire);
  return countBy(log.filter((r) => r.status === 200 && r.sessionId === sessionId).map((r) => r.organizationId));
}

/** Every refresh since `m`, in the order the server answered them. */
export async function refreshLogSince(m: Mark): Promise<RefreshRecord[]> {
  return (await refreshLog()).slice(m.wire);
}

/** Refreshes since `m` that the server refused (any session). */
export async function refusedRefreshesSince(m: Mark): Promise<RefreshRecord[]> {
  return (await refreshLog()).slice(m.wire).filter((r) => r.status !== 200);
}

/** `session.context_refreshed` events of one session since `m` in the server's event store; null without sqlite3. */
export function storedRefreshesSince(m: Mark, sessionId: string): Record<string, number> | null {
  if (m.store === null || !/^sess_[A-Za-z0-9]+$/.test(sessionId)) return null;
  const rows = store(
    `SELECT json_extract(payload, '$.organization_id') AS org FROM events WHERE id > ${m.store} ` +
      `AND event_type = 'session.context_refreshed' AND json_extract(payload, '$.session_id') = '${sessionId}'`,
  );
  return rows ? countBy(rows.map((r) => (r.org as string | null) ?? null)) : null;
}

/** The server saw exactly these refreshes of the session since `m` (on the wire and, with sqlite3, in its event store), and refused none. */
export async function expectRefreshes(
  m: Mark,
  sessionId: string,
  expected: Record<string, number>,
  message: string,
): Promise<void> {
  expect(await refreshesSince(m, sessionId), `${message} (answered on the wire)`).toEqual(expected);
  const stored = storedRefreshesSince(m, sessionId);
  if (stored !== null) expect(stored, `${message} (in the event store)`).toEqual(expected);
  else if (!base.info().annotations.some((a) => a.type === 'no sqlite3')) {
    base.info().annotations.push({ type: 'no sqlite3', description: 'refreshes counted on the wire only' });
  }
  expect(await refusedRefreshesSince(m), `${message}: no refresh refused`).toEqual([]);
}

/** `session.revoked` events of one user after `position` (reason in `data.reason`). */
export async function revocationsSince(m: Mark, userId: string): Promise<Envelope[]> {
  return (await eventsSince(m.position, 'session.revoked')).filter((e) => e.data.user_id === userId);
}

// ---- the tabs ----

export class Tab {
  constructor(
    readonly name: string,
    readonly page: Page,
  ) {}

  /** Opens the demo with the publishable key (and a sign-in token to exchange) in the fragment. */
  async open(signInToken?: string, extra: Record<string, string> = {}): Promise<void> {
    const s = setup();
    const hash = new URLSearchParams({ pk: s.publishableKey, tab: this.name, ...extra });
    if (signInToken) hash.set('signin', signInToken);
    await this.page.goto(`${s.app}/#${hash.toString()}`);
    await expect(this.out('Ready')).toHaveText('yes');
  }

  /** An output of the page, by its label. */
  out(label: string): Locator {
    return this.page.getByLabel(label, { exact: true });
  }

  button(name: string): Locator {
    return this.page.getByRole('button', { name, exact: true });
  }

  /** Clicks a button and returns a function that waits until that action has completed. */
  async start(name: string): Promise<() => Promise<void>> {
    const before = Number(await this.out('Operations completed').textContent());
    await this.button(name).click();
    return () => expect(this.out('Operations completed')).toHaveText(String(before + 1));
  }

  /** Clicks a button and waits until its action has completed. */
  async act(name: string): Promise<void> {
    await (await this.start(name))();
  }

  /** The SDK event log of this tab, one line per event. */
  async events(): Promise<string[]> {
    return this.page.getByRole('list', { name: 'Event log' }).getByRole('listitem').allTextContents();
  }

  /** The page's localStorage (shared by every tab of the origin). */
  async storage(): Promise<Record<string, string>> {
    return this.page.evaluate(() => {
      const out: Record<string, string> = {};
      for (let i = 0; i < localStorage.length; i++) {
        const k = localStorage.key(i);
        if (k !== null) out[k] = localStorage.getItem(k) ?? '';
      }
      return out;
    });
  }

  /** A full-page screenshot in target/screenshots/. */
  async shot(file: string): Promise<void> {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await this.page.screenshot({ path: join(SCREENSHOTS, file), fullPage: true });
  }
}

/** A console error a flow provokes on purpose: in this tab (`*`: either), containing `text`, from a URL containing `url`. */
export interface AllowedError {
  tab: string;
  text: string;
  url: string;
}

interface Fixtures {
  /** By a name of the test's choosing (an object, not an array: Playwright reads `[value, options]` arrays as fixture tuples). */
  allowedConsoleErrors: Record<string, AllowedError>;
  /** Two tabs (pages) of one browser context: one localStorage, one lock manager, one (fake) clock. */
  tabs: { a: Tab; b: Tab };
}

/**
 * `tabs` fails the test on any console error or uncaught page error in either tab that
 * the test did not declare in `allowedConsoleErrors`. The context's clock is Playwright's
 * (installed before the pages load), so a flow can move time forward to expire tokens.
 */
export const test = base.extend<Fixtures>({
  allowedConsoleErrors: [{}, { option: true }],
  tabs: async ({ context, allowedConsoleErrors }, use) => {
    await context.clock.install();
    const errors: { tab: string; text: string; url: string }[] = [];
    const make = async (name: string) => {
      const page = await context.newPage();
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push({ tab: name, text: msg.text(), url: msg.location().url });
      });
      page.on('pageerror', (err) => errors.push({ tab: name, text: `page error: ${err.message}`, url: '' }));
      return new Tab(name, page);
    };
    const a = await make('A');
    const b = await make('B');
    await use({ a, b });
    const unexpected = errors.filter(
      (e) => !Object.values(allowedConsoleErrors).some((x) => (x.tab === '*' || x.tab === e.tab) && e.text.includes(x.text) && e.url.includes(x.url)),
    );
    expect(unexpected, 'browser console errors').toEqual([]);
  },
});

export { expect };
