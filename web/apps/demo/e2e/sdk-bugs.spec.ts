// Reproductions of @authio/js bugs that only a real browser shows. Each test asserts
// what the SDK's README promises and fails while the bug is there; they run apart from
// the flows (`npm run e2e:sdk-bugs`, the `sdk-bugs` project), so `npm run e2e` stays the
// contract of the flows. The interleavings are forced: requests are held at the network
// with Playwright's routing, and answers handed to the page late.
import type { Route } from '@playwright/test';
import { EXPIRE, twoTabsInTwoOrgs } from './helpers';
import { contexts, isRefresh, locksOn, refreshTokenOf, signal } from './race-helpers';
import { expect, mark, refreshLogSince, setup, signInTokenFor, test } from './fixtures';

/** Rounds of the same-moment race: a stale read happened in about 1 hand-over in 4 here. */
const ROUNDS = 20;

test.describe('same-moment refresh of one context in two tabs', () => {
  // When the bug strikes, the second refresh is answered 401 refresh_token_reused.
  test.use({ allowedConsoleErrors: { reused: { tab: '*', text: 'status of 401', url: '/v1/sessions/refresh' } } });

  test('with Web Locks, the tab that waited never presents the refresh token the other tab just spent', async ({
    tabs,
    context,
  }) => {
    test.setTimeout(240_000);
    const { a, b } = tabs;
    const { acme, users } = setup();
    await twoTabsInTwoOrgs(a, b, users.withLocks);
    const lock = `authio:refresh:${acme.id}`;

    // The first refresh of a round is held until the other tab is queued on the lock.
    let holdNext = false;
    let heldRoute: Route | undefined;
    for (const t of [a, b]) {
      await t.page.route(isRefresh, (route) => {
        if (holdNext) {
          holdNext = false;
          heldRoute = route;
        } else void route.continue();
      });
    }

    const bad: string[] = [];
    for (let round = 1; round <= ROUNDS && bad.length === 0; round++) {
      await context.clock.fastForward(EXPIRE);
      const from = await mark();
      holdNext = true;
      heldRoute = undefined;
      const aDone = await a.start('Get token');
      await expect.poll(() => heldRoute !== undefined).toBe(true);
      const bDone = await b.start('Get Acme token');
      // A holds Acme's refresh lock (its request in flight), B waits for it.
      await expect.poll(() => locksOn(a, lock)).toEqual({ held: 1, pending: 1 });
      const spent = refreshTokenOf((heldRoute as unknown as Route).request());
      await (heldRoute as unknown as Route).continue();
      await aDone();
      await bDone();
      const log = await refreshLogSince(from);
      if (log.length !== 1) {
        bad.push(
          `round ${round}: ${log.map((r) => `${r.status} ${r.code ?? ''}`.trim()).join(', ')} ` +
            `(the refresh token ${spent.slice(0, 16)}… was presented twice; tab B events: ${(await b.events()).slice(-2).join(' | ')})`,
        );
      }
    }
    expect(bad, 'rounds in which tab B, granted the lock after A, sent the refresh token A had just spent').toEqual([]);
  });
});
