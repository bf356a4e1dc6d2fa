// Fixed SDK bug, kept as regression flows: the hand-over of a context's refresh lock.
// Two tabs refresh one context at the same moment; the tab granted the lock second may
// still see the first tab's OLD pair in localStorage (Chromium hands a localStorage write
// to the other tabs asynchronously, and the lock grant can come first). Before the fix
// it then presented the refresh token the first tab had just spent, and the server
// revoked the whole session (about one round in four). The SDK now journals replaced
// tokens in IndexedDB and, holding the lock, waits until its view no longer shows one
// (packages/js/src/journal.ts).
//
// Every round is forced: the first refresh is held at the network until the other tab is
// queued on the lock. An init script watches the hand-over in each page (the lock grants,
// and what the SDK reads from a context's entry while it holds that context's lock) and,
// on request, makes one tab's view lag on purpose: for some milliseconds after its lock
// grant, reading the context's entry answers what the tab saw when it asked for the lock.
//
// 1. The natural race, HANDOVER_ROUNDS rounds (CI: 20): one refresh per round, none
//    refused, and how often the race really happened is counted and printed.
// 2. The race made certain (B's view lags 60 ms after every grant): B waits, then takes
//    A's pair; no spent token is presented.
// 3. The same lag with the journal turned off (the SDK as it was): B presents the spent
//    token and the server revokes the session, so flows 1 and 2 would catch the bug.
import type { Route } from '@playwright/test';
import { EXPIRE, noSignOut, twoTabsInTwoOrgs } from './helpers';
import { contexts, isRefresh, locksOn, refreshTokenOf } from './race-helpers';
import {
  expect,
  expectRefreshes,
  mark,
  refreshLogSince,
  revocationsSince,
  setup,
  test,
  type Mark,
  type Tab,
} from './fixtures';
import type { RefreshRecord } from './setup-types';

const ROUNDS = Number(process.env.HANDOVER_ROUNDS ?? 20);
/** How long flows 2 and 3 make tab B's view of the context's entry lag after its lock grant. */
const LAG_MS = 60;
const fast = { intervals: [5, 10, 25, 50] };

interface Seen {
  lock: string;
  refreshToken: string | null;
}
interface Probe {
  /** The context's refresh token in this tab's view when it was granted the context's lock. */
  grants: Seen[];
  /** The refresh tokens the SDK read from a context's entry while this tab held that context's lock. */
  readsUnderLock: Seen[];
}
interface ProbeWindow {
  handOver: Probe;
  /** From now on, this tab's view of a context's entry lags `ms` after each grant of its lock. */
  lagHandOver: (ms: number) => void;
}

/** Installed in each page before it loads: wraps LockManager.prototype.request and Storage.prototype.getItem. */
function watchHandOver(): void {
  const w = window as unknown as ProbeWindow;
  const probe: Probe = { grants: [], readsUnderLock: [] };
  w.handOver = probe;
  let lag = 0;
  w.lagHandOver = (ms) => void (lag = ms);
  const getItem = Storage.prototype.getItem;
  const tokenOf = (raw: string | null) => (raw ? ((JSON.parse(raw) as { refreshToken?: string }).refreshToken ?? null) : null);
  const orgOf = (lock: string) => lock.slice('authio:refresh:'.length);
  const entryOf = (lock: string) => {
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (k?.endsWith(`:ctx:${orgOf(lock)}`)) return k;
    }
    return null;
  };
  /** Locks this page holds now. */
  const held = new Set<string>();
  /** Entries whose reads answer an older value until a time (the injected lag). */
  const lagging = new Map<string, { value: string | null; until: number }>();
  const request = LockManager.prototype.request as (this: LockManager, name: string, ...rest: unknown[]) => Promise<unknown>;
  LockManager.prototype.request = function (this: LockManager, name: string, ...rest: unknown[]) {
    const callback = rest.pop() as (lock: Lock | null) => Promise<unknown>;
    const entry = entryOf(name);
    const asked = entry ? getItem.call(localStorage, entry) : null;
    const watched = async (lock: Lock | null) => {
      if (entry && lag > 0) lagging.set(entry, { value: asked, until: performance.now() + lag });
      probe.grants.push({ lock: name, refreshToken: entry ? tokenOf(localStorage.getItem(entry)) : null });
      held.add(name);
      try {
        return await callback(lock);
      } finally {
        held.delete(name);
      }
    };
    return request.call(this, name, ...rest, watched);
  } as typeof LockManager.prototype.request;
  Storage.prototype.getItem = function (this: Storage, key: string) {
    const l = lagging.get(key);
    const value = l && performance.now() < l.until ? l.value : getItem.call(this, key);
    for (const lock of held) {
      if (key.endsWith(`:ctx:${orgOf(lock)}`)) probe.readsUnderLock.push({ lock, refreshToken: tokenOf(value) });
    }
    return value;
  };
}

/** What the tab's probe recorded since the last call (and clears it). */
function takeProbe(t: Tab): Promise<Probe> {
  return t.page.evaluate(() => {
    const p = (window as unknown as ProbeWindow).handOver;
    return { grants: p.grants.splice(0), readsUnderLock: p.readsUnderLock.splice(0) };
  });
}

/**
 * `Tab.start` without Playwright's actionability checks (a real click waits for animation
 * frames, which the installed fake clock makes take about 2 s): rounds stay quick.
 */
async function startFast(t: Tab, name: string): Promise<() => Promise<void>> {
  const before = Number(await t.out('Operations completed').textContent());
  await t.button(name).dispatchEvent('click');
  return () => expect(t.out('Operations completed')).toHaveText(String(before + 1));
}

/** Two tabs in two organizations, watched; the first refresh of each round is held at the network. */
async function prepare(tabs: { a: Tab; b: Tab }, user: Parameters<typeof twoTabsInTwoOrgs>[2], extra: Record<string, string> = {}) {
  const { a, b } = tabs;
  for (const t of [a, b]) await t.page.addInitScript(watchHandOver);
  const session = await twoTabsInTwoOrgs(a, b, user, extra);
  const gate = { holdNext: false, held: undefined as Route | undefined };
  for (const t of [a, b]) {
    await t.page.route(isRefresh, (route) => {
      if (gate.holdNext) {
        gate.holdNext = false;
        gate.held = route;
      } else void route.continue();
    });
  }
  return { session, gate };
}

interface Round {
  from: Mark;
  /** The refresh token A presented (and the server spent). */
  spent: string;
  /** Every refresh of the round, as the server answered. */
  log: RefreshRecord[];
  /** What B's probe saw of Acme's lock. */
  probe: Probe;
}

/** A's Acme token expires; A refreshes it (held until B is queued on Acme's lock), B asks for Acme's token. */
async function sameMoment(a: Tab, b: Tab, gate: Awaited<ReturnType<typeof prepare>>['gate'], clock: { fastForward: (ms: number) => Promise<void> }): Promise<Round> {
  const lock = `authio:refresh:${setup().acme.id}`;
  await clock.fastForward(EXPIRE);
  const from = await mark();
  await takeProbe(b);
  gate.holdNext = true;
  gate.held = undefined;
  const aDone = await startFast(a, 'Get token');
  await expect.poll(() => gate.held !== undefined, fast).toBe(true);
  const bDone = await startFast(b, 'Get Acme token');
  // A holds Acme's refresh lock (its request in flight), B waits for it.
  await expect.poll(() => locksOn(a, lock), fast).toEqual({ held: 1, pending: 1 });
  const route = gate.held as unknown as Route;
  const spent = refreshTokenOf(route.request());
  await route.continue();
  await aDone();
  await bDone();
  const probe = await takeProbe(b);
  const mine = (s: Seen[]) => s.filter((x) => x.lock === lock);
  return { from, spent, log: await refreshLogSince(from), probe: { grants: mine(probe.grants), readsUnderLock: mine(probe.readsUnderLock) } };
}

const sawSpent = (r: Round) => r.probe.readsUnderLock.some((x) => x.refreshToken === r.spent);

test.describe('refresh lock hand-over', () => {
  test(`the natural race: the tab granted the lock second never presents the token the first just spent (${ROUNDS} rounds)`, async ({
    tabs,
    context,
  }) => {
    test.setTimeout(60_000 + ROUNDS * 5_000);
    const { a, b } = tabs;
    const user = setup().users.withLocks;
    const { session, gate } = await prepare(tabs, user);
    const start = await mark();

    const bad: string[] = [];
    let staleAtGrant = 0;
    let staleReads = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const r = await sameMoment(a, b, gate, context.clock);
      if (r.log.length !== 1 || r.log[0]!.status !== 200) {
        bad.push(`round ${round}: ${r.log.map((x) => `${x.status} ${x.code ?? ''}`.trim()).join(', ')} (spent ${r.spent.slice(0, 16)}…)`);
        break;
      }
      await expect(b.out('Token act_org'), `round ${round}: B has an Acme token`).toHaveText(setup().acme.id);
      expect(await b.out('Token jti').textContent(), `round ${round}: B took A's pair`).toBe(await a.out('Token jti').textContent());
      expect(r.probe.grants, `round ${round}: B was granted Acme's lock once`).toHaveLength(1);
      if (r.probe.grants[0]!.refreshToken === r.spent) staleAtGrant++;
      if (sawSpent(r)) staleReads++;
    }
    expect(bad, 'rounds in which tab B, granted the lock after A, sent the refresh token A had just spent').toEqual([]);
    await expectRefreshes(start, session, { [setup().acme.id]: ROUNDS }, `${ROUNDS} rounds: one refresh each`);
    expect(await revocationsSince(start, user.id), 'no session revoked').toEqual([]);
    await noSignOut(a, b);
    const summary =
      `${ROUNDS} rounds; B's localStorage still showed the spent pair at its lock grant in ${staleAtGrant}, ` +
      `and the SDK read it while holding the lock (and waited) in ${staleReads}; no spent token presented`;
    test.info().annotations.push({ type: 'hand-over', description: summary });
    console.log(`lock hand-over: ${summary}`);
  });

  test(`the race made certain (B's view lags ${LAG_MS} ms after each grant): B waits and takes A's pair`, async ({ tabs, context }) => {
    const { a, b } = tabs;
    const user = setup().users.lagged;
    const { session, gate } = await prepare(tabs, user);
    await b.page.evaluate((ms) => (window as unknown as ProbeWindow).lagHandOver(ms), LAG_MS);
    const start = await mark();
    const rounds = 6;
    for (let round = 1; round <= rounds; round++) {
      const r = await sameMoment(a, b, gate, context.clock);
      expect(r.log.map((x) => `${x.status} ${x.code ?? ''}`.trim()), `round ${round}: one refresh, answered 200`).toEqual(['200']);
      expect(r.probe.grants.map((g) => g.refreshToken), `round ${round}: B's view showed the spent pair at the grant`).toEqual([r.spent]);
      expect(sawSpent(r), `round ${round}: the SDK, holding the lock, read the spent pair`).toBe(true);
      expect(r.probe.readsUnderLock.at(-1)?.refreshToken, `round ${round}: and went on only once its view showed the new pair`).not.toBe(r.spent);
      expect(await b.out('Token jti').textContent(), `round ${round}: B took A's pair`).toBe(await a.out('Token jti').textContent());
    }
    await expectRefreshes(start, session, { [setup().acme.id]: rounds }, `${rounds} rounds: one refresh each`);
    expect(await revocationsSince(start, user.id), 'no session revoked').toEqual([]);
    await noSignOut(a, b);
  });

  test.describe('without the journal', () => {
    // B presents the spent token on purpose here: the 401 is expected.
    test.use({ allowedConsoleErrors: { reused: { tab: 'B', text: 'status of 401', url: '/v1/sessions/refresh' } } });

    test('the same lag makes B present the spent token, and the server revokes the session (the bug)', async ({
      tabs,
      context,
    }) => {
      const { a, b } = tabs;
      const user = setup().users.noJournal;
      const { gate } = await prepare(tabs, user, { journal: 'off' });
      await expect(b.page.getByRole('heading', { level: 1 })).toContainText('no hand-over journal');
      await b.page.evaluate((ms) => (window as unknown as ProbeWindow).lagHandOver(ms), LAG_MS);
      const r = await sameMoment(a, b, gate, context.clock);
      expect(r.log.map((x) => `${x.status} ${x.code ?? ''}`.trim())).toEqual(['200', '401 refresh_token_reused']);
      expect(await b.events()).toContain('signedOut reason=refresh_token_reused');
      expect((await revocationsSince(r.from, user.id)).map((e) => e.data.reason)).toEqual(['refresh_token_reused']);
      expect(await contexts(a), 'every context is gone from the shared storage').toEqual({});
    });
  });
});
