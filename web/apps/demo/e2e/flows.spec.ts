// @authio/js in a real browser: two tabs (two pages of one Chromium context, so one
// localStorage, one navigator.locks and one clock), the real Authio server behind the
// page's own origin. Each flow has a user of its own, a member of Acme and Globex.
import { count, ctxKey, EXPIRE, noSignOut, twoTabsInTwoOrgs } from './helpers';
import {
  api,
  expect,
  expectRefreshes,
  mark,
  refreshesSince,
  refusedRefreshesSince,
  revocationsSince,
  setup,
  storedRefreshesSince,
  test,
} from './fixtures';

test('two tabs in two organizations refresh independently, once per context per round', async ({ tabs, context }) => {
  const { a, b } = tabs;
  const { acme, globex, users } = setup();
  const user = users.twoOrgs;
  const session = await twoTabsInTwoOrgs(a, b, user);
  const start = await mark();

  // Rounds 1–3: time moves past the tokens' expiry; both tabs ask at once, the SDK refreshes.
  for (let round = 1; round <= 3; round++) {
    const from = await mark();
    const aBefore = count(await a.events(), `tokenRefreshed organization=${acme.id}`);
    const bBefore = count(await b.events(), `tokenRefreshed organization=${globex.id}`);
    await context.clock.fastForward(EXPIRE);
    await Promise.all([a.act('Get token'), b.act('Get token')]);
    await expect(a.out('Token act_org'), `round ${round}: A stays in Acme`).toHaveText(acme.id);
    await expect(b.out('Token act_org'), `round ${round}: B stays in Globex`).toHaveText(globex.id);
    await expectRefreshes(from, session, { [acme.id]: 1, [globex.id]: 1 }, `round ${round}: one refresh per context`);
    expect(count(await a.events(), `tokenRefreshed organization=${acme.id}`)).toBe(aBefore + 1);
    expect(count(await b.events(), `tokenRefreshed organization=${globex.id}`)).toBe(bBefore + 1);
  }

  // Rounds 4–6: forced refreshes in both tabs at once.
  for (let round = 4; round <= 6; round++) {
    const from = await mark();
    await Promise.all([a.act('Force refresh'), b.act('Force refresh')]);
    await expect(a.out('Token act_org')).toHaveText(acme.id);
    await expect(b.out('Token act_org')).toHaveText(globex.id);
    await expectRefreshes(from, session, { [acme.id]: 1, [globex.id]: 1 }, `round ${round}: one refresh per context`);
  }

  // The refresh lock is the real navigator.locks, shared by the tabs: while tab B holds
  // Acme's lock, tab A's refresh of its expired Acme token waits (nothing reaches the
  // server); once B lets go, A refreshes once. B then asks for Acme's token and takes the
  // pair A stored, without a refresh of its own. (Both tabs asking at the very same moment
  // is lock-handover.spec.ts.)
  await context.clock.fastForward(EXPIRE);
  const lock = `authio:refresh:${acme.id}`;
  await b.page.evaluate(
    (name) =>
      new Promise<void>((held) => {
        void navigator.locks.request(
          name,
          () =>
            new Promise<void>((release) => {
              (window as unknown as { releaseDemoLock: () => void }).releaseDemoLock = release;
              held();
            }),
        );
      }),
    lock,
  );
  const from = await mark();
  const aDone = await a.start('Get token');
  // Tab A sees the lock held by another client (tab B) and its own request waiting.
  await expect
    .poll(async () => {
      const q = await a.page.evaluate(
        (name) =>
          navigator.locks.query().then((s) => ({
            held: (s.held ?? []).filter((l) => l.name === name).map((l) => l.clientId ?? ''),
            pending: (s.pending ?? []).filter((l) => l.name === name).map((l) => l.clientId ?? ''),
          })),
        lock,
      );
      return { held: q.held.length, pending: q.pending.length, clients: new Set([...q.held, ...q.pending]).size };
    })
    .toEqual({ held: 1, pending: 1, clients: 2 });
  await a.page.waitForTimeout(500);
  await expectRefreshes(from, session, {}, 'no refresh while another tab holds the lock');
  await b.page.evaluate(() => (window as unknown as { releaseDemoLock: () => void }).releaseDemoLock());
  await aDone();
  await expect(a.out('Token act_org')).toHaveText(acme.id);
  // localStorage reaches the other tab's renderer a moment later (see lock-handover.spec.ts):
  // B asks once A's pair is there.
  const acmeEntry = () => a.page.evaluate((k) => localStorage.getItem(k), ctxKey(acme.id));
  const written = await acmeEntry();
  await expect.poll(() => b.page.evaluate((k) => localStorage.getItem(k), ctxKey(acme.id))).toBe(written);
  await b.act('Get Acme token');
  await expect(b.out('Token act_org')).toHaveText(acme.id);
  // The same access token in both tabs: B took A's pair from the shared storage.
  await expect(b.out('Token jti')).toHaveText((await a.out('Token jti').textContent()) ?? '');
  await expectRefreshes(from, session, { [acme.id]: 1 }, 'one refresh for the two tabs');
  // Asking for Acme's token did not move B out of Globex.
  await expect(b.out('Active organization')).toHaveText('Globex');

  // The whole flow: no reuse detected, no revocation, no sign-out, no error.
  expect(await revocationsSince(start, user.id), 'no session.revoked').toEqual([]);
  await noSignOut(a, b);
  await expect(a.out('Last error')).toHaveText('none');
  await expect(b.out('Last error')).toHaveText('none');
  await a.act('Call API');
  await expect(a.out('API organization')).toHaveText(acme.id);
  await b.act('Call API');
  await expect(b.out('API organization')).toHaveText(globex.id);
});

test.describe('deactivation', () => {
  // Provoked on purpose: the refresh of the deactivated context (403 not_a_member) and a
  // switch back into it (403 not_a_member); Chromium logs each failed fetch as an error.
  test.use({
    allowedConsoleErrors: {
      refresh: { tab: 'B', text: 'status of 403', url: '/v1/sessions/refresh' },
      switch: { tab: 'B', text: 'status of 403', url: '/v1/sessions/switch-org' },
    },
  });

  test("deactivating a membership drops only that tab's context", async ({ tabs, context }) => {
    const { a, b } = tabs;
    const { acme, globex, users } = setup();
    const user = users.deactivation;
    const session = await twoTabsInTwoOrgs(a, b, user);
    const start = await mark();
    const globexToken = (JSON.parse((await b.storage())[ctxKey(globex.id)] ?? '{}') as { accessToken?: string })
      .accessToken;

    const m = await api<{ status: string }>('POST', `/v1/memberships/${user.globexMembership}/deactivate`);
    expect(m.status).toBe('inactive');
    // The server refuses B's cached Globex access token at once.
    const refused = await fetch(`${setup().api}/v1/me`, { headers: { authorization: `Bearer ${globexToken}` } });
    expect(refused.status).toBe(401);

    // Time passes; B's next getToken must refresh Globex's context: null, contextDropped not_a_member.
    await context.clock.fastForward(EXPIRE);
    await b.act('Get token');
    await expect(b.out('Token act_org')).toHaveText('null');
    await expect(b.page.getByRole('list', { name: 'Event log' })).toContainText(
      `contextDropped organization=${globex.id} code=not_a_member`,
    );
    // Only Globex's entry left the shared storage; Acme's is there for both tabs.
    const stored = await a.storage();
    expect(Object.keys(stored)).not.toContain(ctxKey(globex.id));
    expect(Object.keys(stored)).toContain(ctxKey(acme.id));
    await expect(a.page.getByRole('list', { name: 'Cached contexts' })).not.toContainText('Globex');

    // Tab A keeps getting Acme tokens, refreshed and forced alike.
    await a.act('Get token');
    await expect(a.out('Token act_org')).toHaveText(acme.id);
    await a.act('Force refresh');
    await expect(a.out('Token act_org')).toHaveText(acme.id);
    await a.act('Call API');
    await expect(a.out('API organization')).toHaveText(acme.id);
    expect((await a.events()).filter((e) => e.startsWith('contextDropped'))).toEqual([]);

    // B asks again: still nothing (the context is gone), no further request.
    await b.act('Get token');
    await expect(b.out('Token act_org')).toHaveText('null');
    await b.act('Call API');
    await expect(b.out('API organization')).toHaveText('no token');
    // B cannot switch back into Globex; it can move to Acme and go on there.
    await b.act('Switch to Globex');
    await expect(b.out('Last error')).toHaveText('not_a_member');
    await b.act('Switch to Acme');
    await expect(b.out('Active organization')).toHaveText('Acme');
    await b.act('Get token');
    await expect(b.out('Token act_org')).toHaveText(acme.id);
    await a.act('Get token');
    await expect(a.out('Token act_org')).toHaveText(acme.id);

    const drops = (await b.events()).filter((e) => e.startsWith('contextDropped'));
    expect(drops).toEqual([`contextDropped organization=${globex.id} code=not_a_member`]);
    await noSignOut(a, b);
    await expect(a.out('Last error')).toHaveText('none');
    expect(await revocationsSince(start, user.id), 'the session lives on').toEqual([]);
    // On the server: Globex's one refresh attempt was refused with not_a_member, none succeeded.
    expect((await refreshesSince(start, session))[globex.id], 'no Globex refresh succeeded').toBeUndefined();
    expect((storedRefreshesSince(start, session) ?? {})[globex.id]).toBeUndefined();
    expect((await refusedRefreshesSince(start)).map((r) => `${r.status} ${r.code}`)).toEqual(['403 not_a_member']);

    await a.shot('demo-tab-a.png');
    await b.shot('demo-tab-b.png');
  });
});

test("a switch in one tab never breaks the other tab's refreshes", async ({ tabs }) => {
  const { a, b } = tabs;
  const { acme, globex, users } = setup();
  const user = users.switching;
  const session = await twoTabsInTwoOrgs(a, b, user);
  const start = await mark();

  await a.button('Start refresh loop').click();
  await expect(a.out('Loop state')).toHaveText('running');
  await expect.poll(async () => Number(await a.out('Loop iterations').textContent())).toBeGreaterThan(3);

  // Meanwhile B goes back and forth, into Acme (the context A is refreshing) and out again.
  for (let i = 0; i < 8; i++) {
    await b.act('Switch to Acme');
    await expect(b.out('Active organization')).toHaveText('Acme');
    await b.act('Get token');
    await expect(b.out('Token act_org')).toHaveText(acme.id);
    await b.act('Switch to Globex');
    await expect(b.out('Active organization')).toHaveText('Globex');
    await b.act('Force refresh');
    await expect(b.out('Token act_org')).toHaveText(globex.id);
  }

  await a.button('Stop refresh loop').click();
  await expect(a.out('Loop state')).toHaveText('stopped');
  const iterations = Number(await a.out('Loop iterations').textContent());
  expect(iterations).toBeGreaterThan(10);
  await expect(a.page.getByRole('list', { name: 'Loop problems' }).getByRole('listitem')).toHaveCount(0);
  await expect(a.out('Loop failures')).toHaveText('0');
  await expect(a.out('Active organization')).toHaveText('Acme');

  const refreshed = await refreshesSince(start, session);
  expect(refreshed[acme.id] ?? 0, 'A refreshed Acme on the server').toBeGreaterThan(5);
  expect(refreshed[acme.id] ?? 0).toBeLessThanOrEqual(iterations);
  const stored = storedRefreshesSince(start, session);
  if (stored) expect(stored, 'the event store agrees with the wire').toEqual(refreshed);
  expect(await refusedRefreshesSince(start), 'the server refused no refresh').toEqual([]);
  console.log(
    `flow 3: tab A forced ${iterations} refreshes of Acme (${refreshed[acme.id]} reached the server; the others found a newer pair, ` +
      `stored by tab B's switch, and used it) while tab B switched 16 times`,
  );
  expect(await revocationsSince(start, user.id), 'no session.revoked').toEqual([]);
  await noSignOut(a, b);
  for (const t of [a, b]) {
    expect((await t.events()).filter((e) => e.startsWith('contextDropped')), `tab ${t.name}`).toEqual([]);
    await expect(t.out('Last error')).toHaveText('none');
  }
  await a.act('Call API');
  await expect(a.out('API organization')).toHaveText(acme.id);
  await b.act('Call API');
  await expect(b.out('API organization')).toHaveText(globex.id);
});
