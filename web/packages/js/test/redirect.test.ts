import { describe, expect, it } from 'vitest';
import {
  codeChallenge,
  createAuthio,
  handleRedirectCallback,
  isAuthioError,
  memoryStorage,
  signInWithRedirect,
  type AuthioClient,
  type SessionAnswer,
} from '../src/index.js';

// Node 18 has Web Crypto only as node:crypto's `webcrypto` (the global came with Node 19).
if (!globalThis.crypto) {
  const nodeCrypto = (await import('node:crypto' as string)) as { webcrypto: Crypto };
  Object.defineProperty(globalThis, 'crypto', { value: nodeCrypto.webcrypto, configurable: true });
}

const BASE = 'https://auth.example.com';
const PK = 'pk_test_redirect';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Record<string, unknown> | null;
}

const answer = (org: { id: string; name: string } | null): SessionAnswer => ({
  access_token: 'at_exchanged',
  refresh_token: 'rt_fam.exchanged',
  token_type: 'Bearer',
  expires_in: 300,
  session_id: 'sess_1',
  user: { id: 'user_1', email: 'ada@example.com' },
  active_organization: org ? { ...org, slug: org.name.toLowerCase(), role: 'admin', permissions: [] } : null,
  memberships: [],
});

/** A page with one client, a fake exchange endpoint that checks PKCE, and this tab's sessionStorage. */
function page(options: { challengeFor?: () => string | null; answer?: SessionAnswer } = {}) {
  const calls: Call[] = [];
  const storage = memoryStorage();
  const tabStorage = memoryStorage();
  const navigations: string[] = [];
  let issuedChallenge: string | null = null;
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const headers = init.headers as Record<string, string>;
    const body = init.body ? (JSON.parse(init.body as string) as Record<string, unknown>) : null;
    calls.push({ url, method: init.method ?? 'GET', headers, body });
    if (url === `${BASE}/v1/auth/handoffs/exchange`) {
      const expected = options.challengeFor ? options.challengeFor() : issuedChallenge;
      const ok =
        headers['authio-publishable-key'] === PK &&
        body?.code === 'hc_good' &&
        expected !== null &&
        (await codeChallenge(String(body?.code_verifier))) === expected;
      if (!ok) {
        return new Response(JSON.stringify({ error: { code: 'invalid_handoff', message: 'the handoff code is not valid' } }), {
          status: 400,
          headers: { 'content-type': 'application/json' },
        });
      }
      return new Response(JSON.stringify(options.answer ?? answer({ id: 'org_acme', name: 'Acme' })), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    }
    return new Response('{"error":{"code":"not_found","message":"no"}}', { status: 404 });
  };
  const client: AuthioClient = createAuthio({ baseUrl: `${BASE}/`, publishableKey: PK, storage, fetch, locks: null });
  const start = async (o: Partial<Parameters<typeof signInWithRedirect>[1]> = {}) => {
    await signInWithRedirect(client, {
      redirectUrl: 'http://localhost:3000/callback?from=%2Freports',
      storage: tabStorage,
      navigate: (u) => navigations.push(u),
      ...o,
    });
    const url = new URL(navigations.at(-1)!);
    issuedChallenge = url.searchParams.get('code_challenge');
    return url;
  };
  return { client, calls, storage, tabStorage, navigations, start };
}

describe('signInWithRedirect', () => {
  it('sends the user to the hosted sign-in with a PKCE challenge; the verifier stays in the tab', async () => {
    const p = page();
    const url = await p.start({ organizationId: 'org_acme', loginHint: 'ada@example.com', state: 'st-1' });
    expect(p.navigations).toHaveLength(1);
    expect(`${url.origin}${url.pathname}`).toBe(`${BASE}/hosted/sign-in`);
    const q = url.searchParams;
    expect(q.get('pk')).toBe(PK);
    expect(q.get('redirect_url')).toBe('http://localhost:3000/callback?from=%2Freports');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('state')).toBe('st-1');
    expect(q.get('organization')).toBe('org_acme');
    expect(q.get('login_hint')).toBe('ada@example.com');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const pending = JSON.parse(p.tabStorage.getItem(`authio:${PK}:redirect:st-1`)!) as { verifier: string; state: string; expiresAt: number };
    expect(pending.expiresAt).toBeGreaterThan(Date.now());
    expect(pending.state).toBe('st-1');
    expect(pending.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await codeChallenge(pending.verifier)).toBe(q.get('code_challenge'));
    // The verifier never leaves the page, and nothing went to the server yet.
    expect(url.toString()).not.toContain(pending.verifier);
    expect(p.calls).toEqual([]);
    // Nothing was written to the token storage.
    expect(p.storage.length).toBe(0);
  });

  it('makes a random state and a new verifier each time; leaves out what is not given', async () => {
    const p = page();
    const a = await p.start();
    const b = await p.start();
    expect(a.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a.searchParams.get('state')).not.toBe(b.searchParams.get('state'));
    expect(a.searchParams.get('code_challenge')).not.toBe(b.searchParams.get('code_challenge'));
    // Each waits under its own state (two tabs may sign in at once).
    expect(p.tabStorage.length).toBe(2);
    expect(p.tabStorage.getItem(`authio:${PK}:redirect:${a.searchParams.get('state')}`)).not.toBeNull();
    expect(a.searchParams.has('organization')).toBe(false);
    expect(a.searchParams.has('login_hint')).toBe(false);
    expect(a.pathname).toBe('/hosted/sign-in');
  });

  it('with an invitation code, goes to the hosted invitation page', async () => {
    const p = page();
    const url = await p.start({ invitationCode: 'inv_abc', state: 's' });
    expect(url.pathname).toBe('/hosted/invitation');
    expect(url.searchParams.get('code')).toBe('inv_abc');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('redirect_url')).toBe('http://localhost:3000/callback?from=%2Freports');
  });
});

describe('codeChallenge', () => {
  it('is S256 as RFC 7636 (appendix B) computes it', async () => {
    expect(await codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });
});

describe('handleRedirectCallback', () => {
  it('checks the state, exchanges code and verifier, and stores the session like a sign-in', async () => {
    const p = page();
    const url = await p.start({ state: 'st-2' });
    const events: unknown[] = [];
    p.client.on('signedIn', (e) => events.push(e));

    const signed = await handleRedirectCallback(p.client, `http://localhost:3000/callback?from=%2Freports&code=hc_good&state=st-2`, {
      storage: p.tabStorage,
    });

    expect(p.calls).toHaveLength(1);
    const call = p.calls[0]!;
    expect(call.url).toBe(`${BASE}/v1/auth/handoffs/exchange`);
    expect(call.method).toBe('POST');
    expect(call.headers['authio-publishable-key']).toBe(PK);
    expect(call.headers).not.toHaveProperty('authorization');
    expect(Object.keys(call.body!).sort()).toEqual(['code', 'code_verifier']);
    expect(await codeChallenge(String(call.body!.code_verifier))).toBe(url.searchParams.get('code_challenge'));

    expect(signed.state).toBe('st-2');
    expect(signed.active_organization?.id).toBe('org_acme');
    expect(signed).not.toHaveProperty('access_token');
    expect(p.client.organizationId).toBe('org_acme');
    expect(await p.client.getToken()).toBe('at_exchanged');
    expect(p.client.cachedContexts().map((c) => c.organizationId)).toEqual(['org_acme']);
    expect(events).toEqual([{ sessionId: 'sess_1', userId: 'user_1', organizationId: 'org_acme' }]);
    // The pending entry is gone: the code is tried once.
    expect(p.tabStorage.getItem(`authio:${PK}:redirect:st-2`)).toBeNull();
  });

  it("takes code and state out of this page's address before anything else", async () => {
    const p = page();
    await p.start({ state: 'st-3' });
    const href = 'http://localhost:3000/callback?from=%2Freports&code=hc_good&state=st-3';
    const replaced: string[] = [];
    const g = globalThis as { location?: unknown; history?: unknown };
    const saved = { location: g.location, history: g.history };
    g.location = { href };
    g.history = { state: null, replaceState: (_s: unknown, _t: string, u: string) => replaced.push(u) };
    try {
      const signed = await handleRedirectCallback(p.client, href, { storage: p.tabStorage });
      expect(signed.state).toBe('st-3');
      expect(replaced).toEqual(['http://localhost:3000/callback?from=%2Freports']);
      // Another URL than the page's is left alone.
      await p.start({ state: 'st-4' });
      await handleRedirectCallback(p.client, 'http://localhost:3000/other?code=hc_good&state=st-4', { storage: p.tabStorage });
      expect(replaced).toHaveLength(1);
    } finally {
      g.location = saved.location;
      g.history = saved.history;
    }
  });

  it('a sign-in without an organization is the "no organization" context', async () => {
    const p = page({ answer: answer(null) });
    await p.start({ state: 's' });
    const signed = await handleRedirectCallback(p.client, 'http://localhost:3000/cb?code=hc_good&state=s', { storage: p.tabStorage });
    expect(signed.active_organization).toBeNull();
    expect(p.client.organizationId).toBeNull();
    expect(await p.client.getToken({ organizationId: null })).toBe('at_exchanged');
  });

  it('refuses a state that is not the pending one, without calling the server', async () => {
    const p = page();
    await p.start({ state: 'mine' });
    const e = await handleRedirectCallback(p.client, 'http://localhost:3000/cb?code=hc_good&state=theirs', {
      storage: p.tabStorage,
    }).catch((x: unknown) => x);
    expect(isAuthioError(e, 'state_mismatch')).toBe(true);
    expect(p.calls).toEqual([]);
    expect(await p.client.getToken()).toBeNull();
    // A forged callback spends nothing: the real one still goes through, once.
    const signed = await handleRedirectCallback(p.client, 'http://localhost:3000/cb?code=hc_good&state=mine', {
      storage: p.tabStorage,
    });
    expect(signed.state).toBe('mine');
    const again = await handleRedirectCallback(p.client, 'http://localhost:3000/cb?code=hc_good&state=mine', {
      storage: p.tabStorage,
    }).catch((x: unknown) => x);
    expect(isAuthioError(again, 'no_pending_sign_in')).toBe(true);
  });

  it('an expired pending sign-in is swept and refused', async () => {
    const p = page();
    await p.start({ state: 'old' });
    const key = `authio:${PK}:redirect:old`;
    const entry = JSON.parse(p.tabStorage.getItem(key)!) as Record<string, unknown>;
    p.tabStorage.setItem(key, JSON.stringify({ ...entry, expiresAt: Date.now() - 1 }));
    const e = await handleRedirectCallback(p.client, 'http://localhost:3000/cb?code=hc_good&state=old', {
      storage: p.tabStorage,
    }).catch((x: unknown) => x);
    expect(isAuthioError(e, 'no_pending_sign_in')).toBe(true);
    expect(p.tabStorage.length).toBe(0);
    expect(p.calls).toEqual([]);
  });

  it('refuses a callback without code or state, and one with nothing pending', async () => {
    const p = page();
    for (const url of ['http://localhost:3000/cb?state=s', 'http://localhost:3000/cb?code=hc_good']) {
      const e = await handleRedirectCallback(p.client, url, { storage: p.tabStorage }).catch((x: unknown) => x);
      expect(isAuthioError(e, 'invalid_callback')).toBe(true);
    }
    const e = await handleRedirectCallback(p.client, 'http://localhost:3000/cb?code=hc_good&state=s', {
      storage: p.tabStorage,
    }).catch((x: unknown) => x);
    expect(isAuthioError(e, 'no_pending_sign_in')).toBe(true);
    expect(p.calls).toEqual([]);
  });

  it('passes the API refusal on (invalid_handoff) and stores nothing', async () => {
    // A verifier that does not match the challenge the code was issued for.
    const p = page({ challengeFor: () => 'A'.repeat(43) });
    await p.start({ state: 's' });
    const e = await handleRedirectCallback(p.client, 'http://localhost:3000/cb?code=hc_good&state=s', {
      storage: p.tabStorage,
    }).catch((x: unknown) => x);
    expect(isAuthioError(e, 'invalid_handoff')).toBe(true);
    expect((e as { status: number }).status).toBe(400);
    expect(p.client.cachedContexts()).toEqual([]);
    expect(p.storage.length).toBe(0);
  });
});
