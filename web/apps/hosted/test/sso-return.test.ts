// @vitest-environment jsdom
import { beforeEach, describe, expect, it } from 'vitest';
import type { SessionAnswer } from '../src/lib/api';
import { s256 } from '../src/lib/pkce';
import { pageOf } from '../src/lib/query';
import {
  SSO_TTL_MS,
  afterSso,
  beginSso,
  setPendingSignIn,
  ssoReturn,
  ssoReturnUrl,
  takePendingSignIn,
  takeVerifier,
} from '../src/lib/sso';
import { takeSsoCode } from '../src/lib/startup';

beforeEach(() => sessionStorage.clear());

describe('a started SSO sign-in, kept in the tab', () => {
  it('keeps a verifier under a random key; the challenge is its S256; taken once', async () => {
    const { key, challenge } = await beginSso(sessionStorage, 1_000);
    const other = await beginSso(sessionStorage, 1_000);
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(other.key).not.toBe(key);
    const verifier = takeVerifier(key, sessionStorage, 2_000)!;
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(challenge).toBe(await s256(verifier));
    expect(takeVerifier(key, sessionStorage, 2_000)).toBeNull();
    expect(takeVerifier(other.key, sessionStorage, 2_000)).not.toBeNull();
  });

  it('expires with the server’s state (ten minutes), and old ones are pruned at the next start', async () => {
    const old = await beginSso(sessionStorage, 0);
    expect(takeVerifier(old.key, sessionStorage, SSO_TTL_MS + 1)).toBeNull();
    const stale = await beginSso(sessionStorage, 0);
    sessionStorage.setItem('authio.sso.junk', 'not json');
    sessionStorage.setItem('unrelated', 'kept');
    await beginSso(sessionStorage, SSO_TTL_MS + 1);
    expect(sessionStorage.getItem(`authio.sso.${stale.key}`)).toBeNull();
    expect(sessionStorage.getItem('authio.sso.junk')).toBeNull();
    expect(sessionStorage.getItem('unrelated')).toBe('kept');
    expect(sessionStorage.length).toBe(2);
  });

  it('no key, or a key of another shape: nothing', () => {
    expect(takeVerifier(null)).toBeNull();
    expect(takeVerifier('short')).toBeNull();
    expect(takeVerifier('../../x'.padEnd(43, 'a'))).toBeNull();
  });
});

describe('the return URL and back', () => {
  const origin = 'https://auth.example.com';

  it('an OAuth request: /hosted/sso with the page’s query; back to /hosted/sign-in without what the server added', () => {
    const back = ssoReturnUrl(origin, '?pk=pk_1&authorization=a.b', 'sign-in');
    expect(back).toBe('https://auth.example.com/hosted/sso?pk=pk_1&authorization=a.b');
    expect(pageOf(new URL(back).pathname)).toBe('sso');
    const returned = new URL(back);
    returned.searchParams.append('code', 'hc_1');
    returned.searchParams.append('state', 'k');
    expect(afterSso(returned.search)).toBe('/hosted/sign-in?pk=pk_1&authorization=a.b');
  });

  it('an invitation’s code travels as invitation_code, the app’s state as app_state, and both come back', () => {
    const page = '?pk=pk_1&code=inv_1&redirect_url=http%3A%2F%2Flocalhost%3A3000%2Fcb&code_challenge=c&state=app+1';
    const back = new URL(ssoReturnUrl(origin, page, 'invitation'));
    expect(back.searchParams.getAll('code')).toEqual([]);
    expect(back.searchParams.getAll('state')).toEqual([]);
    expect(back.searchParams.get('invitation_code')).toBe('inv_1');
    expect(back.searchParams.get('app_state')).toBe('app 1');
    expect(back.searchParams.get('from')).toBe('invitation');
    back.searchParams.append('code', 'hc_1');
    back.searchParams.append('state', 'k');
    const next = new URL(afterSso(back.search), origin);
    expect(next.pathname).toBe('/hosted/invitation');
    expect(Object.fromEntries(next.searchParams)).toEqual({
      pk: 'pk_1',
      redirect_url: 'http://localhost:3000/cb',
      code_challenge: 'c',
      invitation_code: 'inv_1',
      state: 'app 1',
    });
  });

  it('a refusal: the key and the server’s reason; the last state is the server’s', () => {
    expect(ssoReturn('?from=org-admin&state=a&state=k&error=sso_failed&error_description=why')).toEqual({
      key: 'k',
      error: 'sso_failed',
      description: 'why',
    });
    expect(afterSso('?pk=pk_1&from=org-admin&state=k&error=sso_failed&error_description=why')).toBe(
      '/hosted/org-admin?pk=pk_1',
    );
  });

  it('the redeemed sign-in waits for one taker', () => {
    const answer = { access_token: 'at_1' } as SessionAnswer;
    expect(takePendingSignIn()).toBeNull();
    setPendingSignIn(answer);
    expect(takePendingSignIn()).toBe(answer);
    expect(takePendingSignIn()).toBeNull();
  });
});

describe('takeSsoCode (startup)', () => {
  it('on /hosted/sso: the last code leaves the address (the entry replaced), the rest stays', () => {
    history.replaceState({ k: 1 }, '', '/hosted/sso?pk=pk_1&code=hc_attacker&state=k&code=hc_1#x');
    const before = history.length;
    expect(takeSsoCode()).toBe('hc_1');
    expect(location.pathname + location.search + location.hash).toBe('/hosted/sso?pk=pk_1&state=k#x');
    expect(history.length).toBe(before);
  });

  it('elsewhere `code` is an invitation’s: left alone', () => {
    history.replaceState(null, '', '/hosted/invitation?pk=pk_1&code=inv_1');
    expect(takeSsoCode()).toBeNull();
    expect(location.search).toBe('?pk=pk_1&code=inv_1');
  });
});
