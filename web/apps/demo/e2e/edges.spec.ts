// What the real lock manager buys: the same two-tab race on one expired context without
// Web Locks (`createAuthio({ locks: null })`, as in a page that is not a secure context).
// Both refresh requests are held at the network until both were sent, then let through
// one after the other, so the interleaving is forced, not hoped for.
import type { Route } from '@playwright/test';
import { EXPIRE, twoTabsInTwoOrgs } from './helpers';
import { contexts, isRefresh, refreshTokenOf } from './race-helpers';
import { expect, mark, refreshLogSince, revocationsSince, setup, test } from './fixtures';

// The losing refresh is answered 401 refresh_token_reused on purpose; either tab may lose.
test.use({ allowedConsoleErrors: { reused: { tab: '*', text: 'status of 401', url: '/v1/sessions/refresh' } } });

test('without Web Locks two tabs present the same refresh token and the server ends the session', async ({
  tabs,
  context,
}) => {
  const { a, b } = tabs;
  const { users } = setup();
  const user = users.noLocks;
  await twoTabsInTwoOrgs(a, b, user, { locks: 'off' });
  await expect(a.page.getByRole('heading', { level: 1 })).toContainText('no Web Locks');
  await context.clock.fastForward(EXPIRE);
  const from = await mark();

  const held: Route[] = [];
  for (const t of [a, b]) await t.page.route(isRefresh, (route) => void held.push(route));
  const aDone = await a.start('Get token');
  const bDone = await b.start('Get Acme token');
  await expect.poll(() => held.length).toBe(2);
  const [first, second] = held as [Route, Route];
  expect(refreshTokenOf(first.request()), 'the same refresh token, twice').toBe(refreshTokenOf(second.request()));
  // The first rotates the pair; then the second presents the spent token.
  await first.continue();
  await expect.poll(async () => (await refreshLogSince(from)).length).toBe(1);
  await second.continue();
  await aDone();
  await bDone();

  expect((await refreshLogSince(from)).map((r) => `${r.status} ${r.code}`)).toEqual([
    '200 null',
    '401 refresh_token_reused',
  ]);
  const signedOut = [...(await a.events()), ...(await b.events())].filter((e) => e.startsWith('signedOut'));
  expect(signedOut).toEqual(['signedOut reason=refresh_token_reused']);
  expect(await contexts(a), 'every context is gone from the shared storage').toEqual({});
  expect((await revocationsSince(from, user.id)).map((e) => e.data.reason)).toEqual(['refresh_token_reused']);
  await a.act('Get token');
  await expect(a.out('Token act_org')).toHaveText('null');
});
