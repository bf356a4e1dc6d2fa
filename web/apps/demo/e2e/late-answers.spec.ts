// Fixed SDK bug, kept as a regression flow: a refresh answer that arrives after another
// tab signed out or signed in as someone else is not written back (client.ts).
import type { Route } from '@playwright/test';
import { EXPIRE, twoTabsInTwoOrgs } from './helpers';
import { contexts, isRefresh, locksOn, refreshTokenOf, signal } from './race-helpers';
import { expect, mark, refreshLogSince, setup, signInTokenFor, test } from './fixtures';

/** Rounds of the same-moment race: a stale read happened in about 1 hand-over in 4 here. */
test.describe('late answers', () => {
  test('a refresh answered before another tab signs out must not store the ended session again', async ({
    tabs,
    context,
  }) => {
    const { a, b } = tabs;
    const { users } = setup();
    const session = await twoTabsInTwoOrgs(a, b, users.signOutRace);
    await context.clock.fastForward(EXPIRE);

    // Tab B refreshes Globex; the server answers, and the answer is slow to reach the tab.
    const answered = signal();
    const release = signal();
    await b.page.route(isRefresh, async (route) => {
      const response = await route.fetch();
      answered.fire();
      await release.wait;
      await route.fulfill({ response });
    });
    const bDone = await b.start('Get token');
    await answered.wait;

    // Meanwhile the user signs out in tab A: the session ends, the storage is cleared.
    await a.act('Sign out');
    await expect(a.page.getByRole('list', { name: 'Event log' })).toContainText('signedOut reason=signed_out');
    expect(await contexts(a)).toEqual({});

    // Then B's answer lands.
    release.fire();
    await bDone();
    // README: signOut "clears every context"; the other tabs' next getToken answers null.
    expect(await contexts(a), `no context of the ended session ${session} is stored again`).toEqual({});
    await b.act('Get token');
    await expect(b.out('Token act_org'), "tab B's next getToken answers null").toHaveText('null');
  });

  test('a refresh answered before another tab signs in as someone else must not keep the old session', async ({
    tabs,
    context,
  }) => {
    const { a, b } = tabs;
    const { users } = setup();
    const old = await twoTabsInTwoOrgs(a, b, users.signInRace);
    await context.clock.fastForward(EXPIRE);

    const answered = signal();
    const release = signal();
    await b.page.route(isRefresh, async (route) => {
      const response = await route.fetch();
      answered.fire();
      await release.wait;
      await route.fulfill({ response });
    });
    const bDone = await b.start('Get token');
    await answered.wait;

    // Tab A signs in as another user: "a new sign-in replaces every context this browser held".
    await a.page.goto('about:blank');
    await a.open(await signInTokenFor(users.signInRace2));
    await expect(a.out('User')).toHaveText(users.signInRace2.email);
    const fresh = [...new Set(Object.values(await contexts(a)))];
    expect(fresh).toHaveLength(1);
    expect(fresh[0]).not.toBe(old);

    release.fire();
    await bDone();
    expect(
      [...new Set(Object.values(await contexts(a)))],
      `only the new session's contexts are stored (the old one, of ${users.signInRace.email}, was ${old})`,
    ).toEqual(fresh);
    await b.act('Get token');
    await expect(b.out('Token act_org'), "tab B's next getToken answers null").toHaveText('null');
  });
});
