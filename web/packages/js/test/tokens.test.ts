import { describe, expect, it } from 'vitest';
import { AuthioError } from '../src/index.js';
import { ACCESS_TTL_S, settle } from './fake-server.js';
import { browser, record, signIn } from './harness.js';

const REFRESH = '/v1/sessions/refresh';
const EXPIRED = ACCESS_TTL_S * 1000;

describe('token cache', () => {
  it('keeps one token set per organization context and refreshes only the one asked for', async () => {
    const { server, storage, acme, globex, tab, ctxKey } = browser();
    const a = tab();
    const signed = await signIn(a, server);
    // Two memberships and no earlier organization: the session opens without one.
    expect(signed.active_organization).toBeNull();
    expect(a.organizationId).toBeNull();
    expect(signed).not.toHaveProperty('refresh_token');
    const none = await a.getToken();
    expect(none && server.actOrg(none)).toBeNull();

    await a.switchOrganization(acme.id);
    expect(a.organizationId).toBe(acme.id);
    const acmeToken = await a.getToken();
    expect(server.actOrg(acmeToken!)).toBe(acme.id);
    await a.switchOrganization(globex.id);
    const globexToken = await a.getToken();
    expect(server.actOrg(globexToken!)).toBe(globex.id);

    // Each context's token is cached: no refresh, the same token back.
    expect(await a.getToken({ organizationId: acme.id })).toBe(acmeToken);
    expect(await a.getToken({ organizationId: null })).toBe(none);
    expect(await a.getToken({ organizationId: globex.id })).toBe(globexToken);
    expect(server.calls(REFRESH)).toHaveLength(0);
    expect(a.cachedContexts().map((c) => c.organizationId).sort()).toEqual([acme.id, globex.id, null].sort());
    expect(storage.getItem(ctxKey(acme.id))).toContain(acmeToken);

    // 31 s left: still cached. 30 s left: that context (and only it) is refreshed.
    server.advance(EXPIRED - 31_000);
    expect(await a.getToken({ organizationId: acme.id })).toBe(acmeToken);
    server.advance(1_000);
    const globexBefore = storage.getItem(ctxKey(globex.id));
    const acmeNext = await a.getToken({ organizationId: acme.id });
    expect(acmeNext).not.toBe(acmeToken);
    expect(server.actOrg(acmeNext!)).toBe(acme.id);
    const calls = server.calls(REFRESH);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).toEqual({ refresh_token: expect.stringMatching(/^rt_/) });
    expect(calls[0]!.query).toBe('?include=');
    expect(calls[0]!.headers).not.toHaveProperty('authorization');
    expect(storage.getItem(ctxKey(globex.id))).toBe(globexBefore);
    expect(await a.getToken({ organizationId: acme.id })).toBe(acmeNext);
  });

  it('answers null for a context this browser does not hold', async () => {
    const { server, acme, tab } = browser();
    const a = tab();
    expect(await a.getToken()).toBeNull();
    await signIn(a, server);
    expect(await a.getToken({ organizationId: acme.id })).toBeNull();
    expect(server.calls(REFRESH)).toHaveLength(0);
  });

  it.each([
    ['with Web Locks', true],
    ['without Web Locks (in-tab single flight)', false],
  ])('makes one refresh for two concurrent getToken calls in one tab, %s', async (_, webLocks) => {
    const { server, locks, acme, tab } = browser({ webLocks });
    const a = tab();
    await signIn(a, server);
    await a.switchOrganization(acme.id);
    server.advance(EXPIRED);
    const events = record(a);

    locks.requested.length = 0; // the switch took the context's lock too
    const gate = server.hold(REFRESH);
    const first = a.getToken();
    const second = a.getToken({ organizationId: acme.id });
    await settle();
    expect(server.calls(REFRESH)).toHaveLength(1);
    gate.release();
    const [t1, t2] = await Promise.all([first, second]);

    expect(t1).toBeTruthy();
    expect(t2).toBe(t1);
    expect(server.calls(REFRESH)).toHaveLength(1);
    expect(events.tokenRefreshed).toEqual([{ organizationId: acme.id, expiresAt: server.now() + EXPIRED }]);
    expect(locks.requested.filter((n) => n === `authio:refresh:${acme.id}`)).toHaveLength(webLocks ? 1 : 0);
  });

  it('makes one refresh for two tabs asking at once: the second reads the first one’s result', async () => {
    const { server, locks, acme, tab } = browser();
    const a = tab();
    await signIn(a, server);
    await a.switchOrganization(acme.id);
    const b = tab(); // opened later: starts in the organization chosen last
    expect(b.organizationId).toBe(acme.id);
    server.advance(EXPIRED);
    const [ea, eb] = [record(a), record(b)];

    locks.requested.length = 0;
    const gate = server.hold(REFRESH);
    const fromA = a.getToken();
    const fromB = b.getToken();
    await settle();
    // Both tabs asked for the context's lock; only the holder's refresh reached the server.
    expect(locks.requested.filter((n) => n === `authio:refresh:${acme.id}`)).toHaveLength(2);
    expect(server.calls(REFRESH)).toHaveLength(1);
    gate.release();
    const [ta, tb] = await Promise.all([fromA, fromB]);

    expect(ta).toBeTruthy();
    expect(tb).toBe(ta);
    expect(server.calls(REFRESH)).toHaveLength(1);
    expect(ea.tokenRefreshed).toHaveLength(1);
    expect(eb.tokenRefreshed).toHaveLength(0);
    expect(server.sessionRevoked(server.access(ta!)!.sid)).toBe(false);
  });

  it('without Web Locks two tabs can both refresh and the server then sees a reuse (the documented limit)', async () => {
    const { server, acme, tab } = browser({ webLocks: false });
    const a = tab();
    await signIn(a, server);
    await a.switchOrganization(acme.id);
    const b = tab();
    server.advance(EXPIRED);
    const eb = record(b);

    const gate = server.hold(REFRESH);
    const fromA = a.getToken();
    const fromB = b.getToken();
    await settle();
    expect(server.calls(REFRESH)).toHaveLength(2);
    gate.release();
    const [ta, tb] = await Promise.all([fromA, fromB]);

    expect(ta).toBeTruthy();
    expect(tb).toBeNull();
    expect(eb.signedOut).toEqual([{ reason: 'refresh_token_reused' }]);
  });

  it('forceRefresh rotates a valid token once, and a second tab forcing meanwhile takes the new pair', async () => {
    const { server, acme, tab } = browser();
    const a = tab();
    await signIn(a, server);
    await a.switchOrganization(acme.id);
    const b = tab();
    const old = await a.getToken();

    const gate = server.hold(REFRESH);
    const fromA = a.getToken({ forceRefresh: true });
    const fromB = b.getToken({ forceRefresh: true });
    await settle();
    gate.release();
    const [ta, tb] = await Promise.all([fromA, fromB]);
    expect(ta).not.toBe(old);
    expect(tb).toBe(ta);
    expect(server.calls(REFRESH)).toHaveLength(1);
  });
});

describe('organization contexts across tabs', () => {
  it('a switch in tab B leaves tab A’s context and tokens untouched, and both keep refreshing their own', async () => {
    const { server, storage, acme, globex, tab, ctxKey } = browser();
    const a = tab();
    await signIn(a, server);
    await a.switchOrganization(acme.id);
    const aToken = await a.getToken();
    const aStored = storage.getItem(ctxKey(acme.id));

    const b = tab();
    await b.switchOrganization(globex.id);
    // B presented a token of the session (A's context, chosen last) to switch.
    expect(server.calls('/v1/sessions/switch-org').at(-1)!.headers.authorization).toBe(`Bearer ${aToken}`);
    expect(storage.getItem(ctxKey(acme.id))).toBe(aStored);
    expect(a.organizationId).toBe(acme.id);
    expect(b.organizationId).toBe(globex.id);
    expect(await a.getToken()).toBe(aToken);
    expect(server.actOrg((await b.getToken())!)).toBe(globex.id);

    for (let round = 1; round <= 3; round++) {
      server.advance(EXPIRED);
      const [ta, tb] = await Promise.all([a.getToken(), b.getToken()]);
      expect(server.actOrg(ta!)).toBe(acme.id);
      expect(server.actOrg(tb!)).toBe(globex.id);
      expect(server.calls(REFRESH)).toHaveLength(2 * round);
    }
    const live = await a.listContexts();
    expect(live.contexts.map((c) => c.organization?.id ?? null).sort()).toEqual([acme.id, globex.id, null].sort());
    expect(server.sessionRevoked(live.session_id)).toBe(false);
  });

  it('a 403 not_a_member on one context drops only that one and emits contextDropped', async () => {
    const { server, storage, acme, globex, ada, tab, ctxKey } = browser();
    const a = tab();
    await signIn(a, server);
    await a.switchOrganization(acme.id);
    await a.switchOrganization(globex.id);
    const events = record(a);

    server.deactivate(ada, globex);
    server.advance(EXPIRED);
    expect(await a.getToken({ organizationId: globex.id })).toBeNull();
    expect(events.contextDropped).toEqual([{ organizationId: globex.id, code: 'not_a_member' }]);
    expect(events.signedOut).toEqual([]);
    expect(storage.getItem(ctxKey(globex.id))).toBeNull();
    expect(storage.getItem(ctxKey(acme.id))).not.toBeNull();

    const acmeToken = await a.getToken({ organizationId: acme.id });
    expect(server.actOrg(acmeToken!)).toBe(acme.id);
    const refreshes = server.calls(REFRESH).length;
    expect(await a.getToken({ organizationId: globex.id })).toBeNull();
    expect(server.calls(REFRESH)).toHaveLength(refreshes);
  });

  it('refresh_token_reused emits signedOut and clears every context', async () => {
    const { server, storage, acme, globex, tab, ctxKey } = browser();
    const a = tab();
    await signIn(a, server);
    await a.switchOrganization(acme.id);
    await a.switchOrganization(globex.id);
    const stale = storage.getItem(ctxKey(acme.id))!;
    server.advance(EXPIRED);
    const sid = server.access((await a.getToken({ organizationId: acme.id }))!)!.sid;
    // An old copy of the pair comes back (as a tab without Web Locks could write it).
    storage.setItem(ctxKey(acme.id), stale);
    server.advance(EXPIRED);
    const events = record(a);

    expect(await a.getToken({ organizationId: acme.id })).toBeNull();
    expect(events.signedOut).toEqual([{ reason: 'refresh_token_reused' }]);
    expect(events.contextDropped).toEqual([]);
    expect([...storage.items.keys()].filter((k) => k.startsWith('authio:'))).toEqual([]);
    expect(a.organizationId).toBeUndefined();
    expect(await a.getToken({ organizationId: globex.id })).toBeNull();
    expect(server.sessionRevoked(sid)).toBe(true);
  });

  it('keeps the context when a refresh fails for another reason (network), and retries next time', async () => {
    const { server, acme, tab } = browser();
    let failNext = false;
    const a = tab({
      fetch: async (url, init) => {
        if (failNext && url.includes(REFRESH)) {
          failNext = false;
          throw new TypeError('Failed to fetch');
        }
        return server.fetch(url, init);
      },
    });
    await signIn(a, server);
    await a.switchOrganization(acme.id);
    server.advance(EXPIRED);
    failNext = true;
    const error = await a.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthioError);
    expect(error).toMatchObject({ status: 0, code: 'network_error' });
    expect(a.cachedContexts().map((c) => c.organizationId)).toContain(acme.id);
    expect(server.actOrg((await a.getToken())!)).toBe(acme.id);
  });
});

describe('session calls', () => {
  it('revokeContext closes one context on the server and in the cache', async () => {
    const { server, storage, acme, globex, tab, ctxKey } = browser();
    const a = tab();
    await signIn(a, server);
    await a.switchOrganization(acme.id);
    await a.switchOrganization(globex.id);
    const events = record(a);

    await a.revokeContext(acme.id);
    expect(server.calls(`/v1/sessions/contexts/${acme.id}/revoke`)).toHaveLength(1);
    expect(storage.getItem(ctxKey(acme.id))).toBeNull();
    expect(events.contextDropped).toEqual([{ organizationId: acme.id, code: 'context_revoked' }]);
    await a.revokeContext(null);
    expect(server.calls('/v1/sessions/contexts/none/revoke')).toHaveLength(1);

    server.advance(EXPIRED);
    expect(server.actOrg((await a.getToken())!)).toBe(globex.id);
    const live = await a.listContexts();
    expect(live.contexts.map((c) => c.organization?.id)).toEqual([globex.id]);
  });

  it('getUser answers /v1/me for the current or a named context', async () => {
    const { server, acme, globex, tab } = browser();
    const a = tab();
    await signIn(a, server);
    await a.switchOrganization(acme.id);
    await a.switchOrganization(globex.id);
    const me = await a.getUser();
    expect(me.user.email).toBe('ada@example.com');
    expect(me.active_organization?.id).toBe(globex.id);
    expect((await a.getUser({ organizationId: acme.id })).active_organization).toMatchObject({ id: acme.id, role: 'admin' });
    expect(me.memberships).toHaveLength(2);
  });

  it('signOut revokes the session, clears every context and emits signedOut', async () => {
    const { server, storage, acme, tab } = browser();
    const a = tab();
    const b = tab();
    await signIn(a, server);
    await a.switchOrganization(acme.id);
    const token = (await a.getToken())!;
    const events = record(a);

    await a.signOut();
    expect(server.calls('/v1/sessions/revoke')[0]!.headers.authorization).toBe(`Bearer ${token}`);
    expect(server.sessionRevoked(server.access(token)!.sid)).toBe(true);
    expect(events.signedOut).toEqual([{ reason: 'signed_out' }]);
    expect(storage.length).toBe(0);
    expect(await a.getToken()).toBeNull();
    expect(await b.getToken({ organizationId: acme.id })).toBeNull();
    const error = await a.listContexts().catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 401, code: 'unauthenticated' });
  });

  it('signOut clears the cache even when the server cannot be reached, and says so', async () => {
    const { server, storage, tab } = browser();
    let offline = false;
    const a = tab({
      fetch: async (url, init) => {
        if (offline) throw new TypeError('Failed to fetch');
        return server.fetch(url, init);
      },
    });
    await signIn(a, server);
    offline = true;
    await expect(a.signOut()).rejects.toMatchObject({ code: 'network_error' });
    expect(storage.length).toBe(0);
  });

  it('a new sign-in replaces the contexts of the session before it', async () => {
    const { server, acme, tab } = browser();
    const a = tab();
    server.addUser('bob@example.com', [[acme, 'member']]);
    await signIn(a, server);
    await a.switchOrganization(acme.id);
    const bob = await signIn(a, server, 'bob@example.com');
    expect(bob.active_organization?.id).toBe(acme.id);
    expect(a.cachedContexts()).toEqual([
      expect.objectContaining({ organizationId: acme.id, user: expect.objectContaining({ email: 'bob@example.com' }) }),
    ]);
  });

  it('on() returns a function that unsubscribes', async () => {
    const { server, acme, tab } = browser();
    const a = tab();
    await signIn(a, server);
    await a.switchOrganization(acme.id);
    const seen: unknown[] = [];
    const off = a.on('tokenRefreshed', (e) => seen.push(e));
    server.advance(EXPIRED);
    await a.getToken();
    off();
    server.advance(EXPIRED);
    await a.getToken();
    expect(seen).toHaveLength(1);
    expect(server.calls(REFRESH)).toHaveLength(2);
  });
});
