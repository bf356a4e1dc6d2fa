// Steps the flows share.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { api, expect, setup, signInTokenFor, type Tab } from './fixtures';
import type { FlowUser } from './setup-types';

/** An access token lives 300 s; the client refreshes when less than 30 s are left. Six minutes expire it. */
export const EXPIRE = 6 * 60_000;

/** The storage key of one context's token set (see the SDK's README). */
export const ctxKey = (org: string) => `authio:${setup().publishableKey}:ctx:${org}`;

/** Tab A signs in and enters Acme; tab B (same context, opened next) enters Globex. Returns the session id. */
export async function twoTabsInTwoOrgs(a: Tab, b: Tab, user: FlowUser, extra: Record<string, string> = {}): Promise<string> {
  const { acme, globex } = setup();
  // Both memberships active (a repeated deactivation flow left Globex's inactive).
  for (const id of [user.acmeMembership, user.globexMembership]) {
    const m = await api<{ status: string }>('GET', `/v1/memberships/${id}`);
    if (m.status === 'inactive') await api('POST', `/v1/memberships/${id}/reactivate`);
  }
  const first = !existsSync(join(setup().tmp, `used-${user.id}`));
  await a.open(await signInTokenFor(user), extra);
  await expect(a.out('User')).toHaveText(user.email);
  // Two memberships and no earlier choice: the session opens without an organization
  // (a repeated flow's sign-in opens in the organization used last).
  if (first) await expect(a.out('Active organization')).toHaveText('no organization');
  await a.act('Switch to Acme');
  await expect(a.out('Active organization')).toHaveText('Acme');
  await expect(a.out('Active organization id')).toHaveText(acme.id);

  await b.open(undefined, extra);
  // A new tab starts in the context chosen last (Acme, by tab A), with no sign-in of its own.
  await expect(b.out('User')).toHaveText(user.email);
  await expect(b.out('Active organization')).toHaveText('Acme');
  await b.act('Switch to Globex');
  await expect(b.out('Active organization')).toHaveText('Globex');
  await expect(b.out('Active organization id')).toHaveText(globex.id);
  // Tab A's choice is its own: B's switch did not move it.
  await expect(a.out('Active organization')).toHaveText('Acme');

  await a.act('Get token');
  await expect(a.out('Token act_org')).toHaveText(acme.id);
  await b.act('Get token');
  await expect(b.out('Token act_org')).toHaveText(globex.id);

  // The server agrees (GET /v1/me with each tab's token).
  await a.act('Call API');
  await expect(a.out('API organization')).toHaveText(acme.id);
  await b.act('Call API');
  await expect(b.out('API organization')).toHaveText(globex.id);

  const stored = await a.storage();
  const acmeSet = JSON.parse(stored[ctxKey(acme.id)] ?? '{}') as { sessionId?: string };
  const globexSet = JSON.parse(stored[ctxKey(globex.id)] ?? '{}') as { sessionId?: string };
  expect(acmeSet.sessionId, 'both contexts belong to one session').toBe(globexSet.sessionId);
  expect(acmeSet.sessionId).toMatch(/^sess_/);
  // One localStorage for the two tabs.
  expect(await b.storage()).toEqual(stored);
  return acmeSet.sessionId as string;
}

export async function noSignOut(...tabs: Tab[]): Promise<void> {
  for (const t of tabs) {
    expect((await t.events()).filter((e) => e.startsWith('signedOut')), `tab ${t.name}: no signedOut`).toEqual([]);
  }
}

export const count = (events: string[], prefix: string) => events.filter((e) => e.startsWith(prefix)).length;

