// The hand-over of a context's refresh lock between tabs whose views of localStorage lag
// behind each other (src/journal.ts): the next holder must never present the refresh
// token the previous holder just spent, whatever its view still shows.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { digest, Journal } from '../src/journal.js';
import { createAuthio } from '../src/index.js';
import { ACCESS_TTL_S, BASE_URL, FakeLocks, PUBLISHABLE_KEY, settle } from './fake-server.js';
import { asFactory, FakeIndexedDB, LaggyStorage } from './fake-browser-storage.js';
import { browser, record, signIn } from './harness.js';

const REFRESH = '/v1/sessions/refresh';
const EXPIRED = ACCESS_TTL_S * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function signal() {
  let fire!: () => void;
  const wait = new Promise<void>((r) => (fire = r));
  return { wait, fire };
}

/** Tab A signed in and in Acme, tab B opened after it; each with its own view of one lagging localStorage. */
async function twoTabs(options: { journal: boolean }) {
  const w = browser();
  const shared = new LaggyStorage();
  const idb = new FakeIndexedDB();
  const tab = () => w.tab({ storage: shared.view(), indexedDB: options.journal ? asFactory(idb) : null });
  const a = tab();
  await signIn(a, w.server);
  await a.switchOrganization(w.acme.id);
  const b = tab();
  expect(b.organizationId).toBe(w.acme.id);
  return { ...w, shared, idb, a, b };
}

/** A refreshes Acme (its request held at the server), B asks meanwhile and queues on the lock. */
async function sameMomentRefresh(t: Awaited<ReturnType<typeof twoTabs>>) {
  t.server.advance(EXPIRED);
  t.shared.lagging = true;
  const gate = t.server.hold(REFRESH);
  const fromA = t.a.getToken();
  await settle();
  const fromB = t.b.getToken();
  await settle();
  expect(t.server.calls(REFRESH), 'only the lock holder’s refresh left').toHaveLength(1);
  const spent = (t.server.calls(REFRESH)[0]!.body as { refresh_token: string }).refresh_token;
  gate.release();
  return { fromA, fromB, spent };
}

describe('refresh lock hand-over with a lagging localStorage', () => {
  afterEach(() => void vi.useRealTimers());

  it('without the journal, the next holder reads the spent pair and the server revokes the session (the bug)', async () => {
    const t = await twoTabs({ journal: false });
    const eb = record(t.b);
    const { fromA, fromB } = await sameMomentRefresh(t);
    const [ta, tb] = await Promise.all([fromA, fromB]);
    expect(ta).toBeTruthy();
    expect(tb).toBeNull();
    expect(t.server.calls(REFRESH)).toHaveLength(2);
    expect(eb.signedOut).toEqual([{ reason: 'refresh_token_reused' }]);
    expect(t.server.sessionRevoked(t.server.access(ta!)!.sid)).toBe(true);
  });

  it('with the journal, the next holder waits until its view shows the new pair, and uses it', async () => {
    const t = await twoTabs({ journal: true });
    const [ea, eb] = [record(t.a), record(t.b)];
    const { fromA, fromB, spent } = await sameMomentRefresh(t);
    const ta = await fromA;
    expect(ta).toBeTruthy();
    // A journaled the token it spent (committed before it stored the successor and let go of the lock).
    const key = t.ctxKey(t.acme.id);
    expect(t.idb.journal(key)).toEqual([digest(spent)]);

    // B holds the lock now, and its view still shows the spent pair: it waits, sending nothing.
    let bDone = false;
    void fromB.then(() => (bDone = true));
    await sleep(80);
    expect(bDone).toBe(false);
    expect(t.server.calls(REFRESH)).toHaveLength(1);

    // The write reaches B's view: B takes A's pair.
    t.shared.deliver();
    const tb = await fromB;
    expect(tb).toBe(ta);
    expect(t.server.calls(REFRESH)).toHaveLength(1);
    expect(t.server.sessionRevoked(t.server.access(ta!)!.sid)).toBe(false);
    expect(ea.tokenRefreshed).toHaveLength(1);
    expect([eb.tokenRefreshed, eb.signedOut, eb.contextDropped]).toEqual([[], [], []]);
  });

  it('with the journal, many rounds of same-moment refreshes never present a spent token', async () => {
    const t = await twoTabs({ journal: true });
    for (let round = 1; round <= 12; round++) {
      // Either tab may be first; the other's view lags until some time after the hand-over.
      const [first, second] = round % 2 ? [t.a, t.b] : [t.b, t.a];
      t.server.advance(EXPIRED);
      t.shared.lagging = true;
      const before = t.server.calls(REFRESH).length;
      const gate = t.server.hold(REFRESH);
      const one = first.getToken({ organizationId: t.acme.id });
      await settle();
      const two = second.getToken({ organizationId: t.acme.id });
      await settle();
      gate.release();
      const x = await one;
      setTimeout(() => t.shared.deliver(), round % 3 === 0 ? 0 : 30);
      const y = await two;
      expect(y, `round ${round}`).toBe(x);
      expect(t.server.calls(REFRESH).length - before, `round ${round}: one refresh`).toBe(1);
      t.shared.lagging = false;
    }
    expect(t.server.sessionRevoked(t.server.access((await t.a.getToken())!)!.sid)).toBe(false);
    expect(t.idb.journal(t.ctxKey(t.acme.id))).toHaveLength(12);
  });

  it('a switch in another tab is journaled too: the next holder waits for the switched pair', async () => {
    const t = await twoTabs({ journal: true });
    const before = t.shared.backend.get(t.ctxKey(t.acme.id))!;
    t.shared.lagging = true;
    // B enters Acme again (a new token family for the context); A's view still shows the old pair.
    await t.b.switchOrganization(t.acme.id);
    const switched = JSON.parse(t.shared.backend.get(t.ctxKey(t.acme.id))!) as { accessToken: string };
    expect(t.idb.journal(t.ctxKey(t.acme.id))).toEqual([digest((JSON.parse(before) as { refreshToken: string }).refreshToken)]);
    const fromA = t.a.getToken({ forceRefresh: true });
    await sleep(60);
    expect(t.server.calls(REFRESH), 'A did not present the replaced pair').toHaveLength(0);
    t.shared.deliver();
    // The switched pair is fresh and not the one A had seen: A takes it rather than rotating it.
    expect(await fromA).toBe(switched.accessToken);
    expect(t.server.calls(REFRESH)).toHaveLength(0);
  });

  it('drops the context, without presenting the token, when the successor never shows', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const t = await twoTabs({ journal: true });
    const eb = record(t.b);
    const { fromA, fromB } = await sameMomentRefresh(t);
    const ta = await fromA;
    // B's view never receives A's write (as if A's tab had closed between its journal
    // commit and its localStorage write).
    await vi.advanceTimersByTimeAsync(2_900);
    expect(eb.contextDropped).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(await fromB).toBeNull();
    expect(eb.contextDropped).toEqual([{ organizationId: t.acme.id, code: 'refresh_token_spent' }]);
    expect(t.server.calls(REFRESH)).toHaveLength(1);
    expect(t.server.sessionRevoked(t.server.access(ta!)!.sid)).toBe(false);
  });

  it('a late answer after a sign-out in another tab is journaled but not written back', async () => {
    const t = await twoTabs({ journal: true });
    await t.b.switchOrganization(t.globex.id);
    // Tab C (in Globex, chosen last) gets its refresh answered late: after A signed out.
    const late = { answered: signal(), release: signal() };
    const c = t.tab({
      storage: t.shared.view(),
      indexedDB: asFactory(t.idb),
      fetch: async (url, init) => {
        const res = await t.server.fetch(url, init);
        if (!url.includes(REFRESH)) return res;
        late.answered.fire();
        await late.release.wait;
        return res;
      },
    });
    t.server.advance(EXPIRED);
    const fromC = c.getToken();
    await late.answered.wait;
    const spent = (t.server.calls(REFRESH).at(-1)!.body as { refresh_token: string }).refresh_token;
    await t.a.signOut();
    late.release.fire();
    expect(await fromC).toBeNull();
    expect([...t.shared.backend.keys()].filter((k) => k.includes(':ctx:'))).toEqual([]);
    // The server spent it all the same: journaled.
    expect(t.idb.journal(t.ctxKey(t.globex.id))).toContain(digest(spent));
  });
});

describe('the journal itself', () => {
  it('keeps 64-bit digests of the last 16 replaced tokens per context, not the tokens', async () => {
    const idb = new FakeIndexedDB();
    const j = new Journal(asFactory(idb));
    for (let i = 1; i <= 20; i++) await j.add('k1', `rt_fam_x.${i}`);
    await j.add('k2', 'rt_fam_y.1');
    const kept = idb.journal('k1');
    expect(kept).toHaveLength(16);
    expect(kept[0]).toBe(digest('rt_fam_x.5'));
    expect(kept.at(-1)).toBe(digest('rt_fam_x.20'));
    expect(kept.every((d) => /^[0-9a-f]{16}$/.test(d))).toBe(true);
    expect(JSON.stringify(idb.databases.get('authio-js')?.get('replaced')?.get('k1'))).not.toContain('rt_');
    expect((await j.replaced('k1')).has(digest('rt_fam_x.20'))).toBe(true);
    expect((await j.replaced('k1')).has(digest('rt_fam_x.1'))).toBe(false);
    expect([...(await j.replaced('k2'))]).toEqual([digest('rt_fam_y.1')]);
    expect(await j.replaced('nothing')).toEqual(new Set());
    expect(idb.opens).toBe(1);
  });

  it('digest is stable and tells tokens apart', () => {
    expect(digest('rt_fam_a.1')).toBe(digest('rt_fam_a.1'));
    const many = new Set(Array.from({ length: 5000 }, (_, i) => digest(`rt_fam_01abc.${i.toString(16).padStart(64, '0')}`)));
    expect(many.size).toBe(5000);
  });

  it('without a working IndexedDB it answers nothing and records nothing (the client goes on as before)', async () => {
    const idb = new FakeIndexedDB();
    idb.failOpen = true;
    const j = new Journal(asFactory(idb));
    await j.add('k', 'rt_1');
    expect(await j.replaced('k')).toEqual(new Set());
    // It tries again later: storage may have been unblocked.
    idb.failOpen = false;
    await j.add('k', 'rt_2');
    expect([...(await j.replaced('k'))]).toEqual([digest('rt_2')]);
  });

  it('is used by default with localStorage and Web Locks, and not with another storage or without locks', async () => {
    const g = globalThis as { localStorage?: unknown; indexedDB?: unknown };
    const shared = new LaggyStorage();
    const idb = new FakeIndexedDB();
    const w = browser();
    g.localStorage = shared.view();
    g.indexedDB = asFactory(idb);
    try {
      const base = { baseUrl: BASE_URL, publishableKey: PUBLISHABLE_KEY, fetch: w.server.fetch, now: w.server.now };
      const make = (extra: object) => createAuthio({ ...base, ...extra });
      const run = async (client: ReturnType<typeof make>) => {
        await signIn(client, w.server);
        w.server.advance(EXPIRED);
        await client.getToken();
      };
      await run(make({ storage: g.localStorage, locks: new FakeLocks() }));
      expect(idb.committed.readwrite).toBe(1);
      await run(make({ storage: w.storage, locks: new FakeLocks() }));
      await run(make({ storage: g.localStorage, locks: null }));
      expect(idb.committed.readwrite).toBe(1);
    } finally {
      delete g.localStorage;
      delete g.indexedDB;
    }
  });
});
