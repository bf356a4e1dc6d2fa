import { describe, expect, it } from 'vitest';
import {
  afterMagicLink,
  appHost,
  isHandoffCode,
  isAuthorizationRequest,
  isHttpUrl,
  isRedirectFor,
  magicLinkUrl,
  pageOf,
  pageUrl,
  parseParams,
  redirectOrigin,
  returnUrl,
  ssoStartUrl,
  withoutParams,
} from '../src/lib/query';

const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const APP = 'http://localhost:3000/callback?next=%2Freports';

function query(p: Record<string, string>): string {
  return `?${new URLSearchParams(p)}`;
}

describe('pageOf', () => {
  it('names the pages under /hosted/, with or without a trailing slash', () => {
    expect(pageOf('/hosted/')).toBe('home');
    expect(pageOf('/hosted')).toBe('home');
    expect(pageOf('/hosted/sign-in')).toBe('sign-in');
    expect(pageOf('/hosted/sign-in/')).toBe('sign-in');
    expect(pageOf('/hosted/magic-link')).toBe('magic-link');
    expect(pageOf('/hosted/invitation')).toBe('invitation');
    expect(pageOf('/hosted/org-admin')).toBe('org-admin');
  });

  it('is null for anything else', () => {
    expect(pageOf('/hosted/nope')).toBeNull();
    expect(pageOf('/hosted/sign-in/extra')).toBeNull();
    expect(pageOf('/hostedx/sign-in')).toBeNull();
    expect(pageOf('/dashboard/')).toBeNull();
  });
});

describe('parseParams', () => {
  it('reads the app redirect, state, organization and login hint', () => {
    const p = parseParams(
      query({
        pk: 'pk_test_1',
        redirect_url: APP,
        code_challenge: CHALLENGE,
        code_challenge_method: 'S256',
        state: 'xyz 1',
        organization: 'org_1',
        login_hint: 'ada@example.com',
      }),
    );
    expect(p.pk).toBe('pk_test_1');
    expect(p.handoff).toEqual({ redirectUrl: APP, codeChallenge: CHALLENGE, state: 'xyz 1' });
    expect(p.problem).toBeNull();
    expect(p.organization).toBe('org_1');
    expect(p.loginHint).toBe('ada@example.com');
    expect(p.flow).toBe('sign-in');
  });

  it('no redirect parameters: no handoff and no problem (the page signs in for itself)', () => {
    const p = parseParams('?pk=pk_test_1');
    expect(p.handoff).toBeNull();
    expect(p.problem).toBeNull();
    expect(p.organization).toBeNull();
    expect(p.token).toBeNull();
  });

  it('keeps an empty state as given, and treats a missing one as none', () => {
    expect(parseParams(query({ redirect_url: APP, code_challenge: CHALLENGE, state: '' })).handoff?.state).toBe('');
    expect(parseParams(query({ redirect_url: APP, code_challenge: CHALLENGE })).handoff?.state).toBeNull();
  });

  it('names what is wrong with incomplete or malformed redirect parameters', () => {
    const problem = (p: Record<string, string>) => parseParams(query(p)).problem;
    expect(problem({ redirect_url: APP })).toMatch(/code_challenge is missing/);
    expect(problem({ code_challenge: CHALLENGE })).toMatch(/redirect_url is missing/);
    expect(problem({ redirect_url: '/relative', code_challenge: CHALLENGE })).toMatch(/absolute http/);
    expect(problem({ redirect_url: 'javascript:alert(1)', code_challenge: CHALLENGE })).toMatch(/absolute http/);
    expect(problem({ redirect_url: APP, code_challenge: 'short' })).toMatch(/43 base64url/);
    expect(problem({ redirect_url: APP, code_challenge: CHALLENGE.slice(0, 42) + '+' })).toMatch(/43 base64url/);
    expect(problem({ redirect_url: APP, code_challenge: CHALLENGE, code_challenge_method: 'plain' })).toMatch(/S256/);
    for (const p of [{ redirect_url: APP }, { code_challenge: CHALLENGE }] as Record<string, string>[]) expect(parseParams(query(p)).handoff).toBeNull();
  });

  it('takes the invitation code as `code` or as the mail’s `invitation_code`', () => {
    expect(parseParams('?code=inv_a').invitationCode).toBe('inv_a');
    expect(parseParams('?invitation_code=inv_b').invitationCode).toBe('inv_b');
  });

  it('reads the flow a magic link comes back to; anything unknown is sign-in', () => {
    expect(parseParams('?from=invitation').flow).toBe('invitation');
    expect(parseParams('?from=org-admin').flow).toBe('org-admin');
    expect(parseParams('?from=elsewhere').flow).toBe('sign-in');
    expect(parseParams('?token=ml_1').token).toBe('ml_1');
  });
});

describe('the magic link round trip', () => {
  const page = query({ pk: 'pk_test_1', redirect_url: APP, code_challenge: CHALLENGE, state: 's&t' });

  it('carries the whole query to /hosted/magic-link, plus the flow', () => {
    const link = new URL(magicLinkUrl('http://localhost:8080', page, 'sign-in'));
    expect(`${link.origin}${link.pathname}`).toBe('http://localhost:8080/hosted/magic-link');
    expect(link.searchParams.get('redirect_url')).toBe(APP);
    expect(link.searchParams.get('code_challenge')).toBe(CHALLENGE);
    expect(link.searchParams.get('state')).toBe('s&t');
    expect(link.searchParams.get('pk')).toBe('pk_test_1');
    expect(link.searchParams.has('from')).toBe(false);

    const inv = new URL(magicLinkUrl('http://localhost:8080', '?pk=pk_test_1&code=inv_1&from=x&token=old', 'invitation'));
    expect(inv.searchParams.get('from')).toBe('invitation');
    expect(inv.searchParams.get('code')).toBe('inv_1');
    expect(inv.searchParams.has('token')).toBe(false);
  });

  it('after the link (the server appended token=…) continues on the page the flow started on', () => {
    const back = new URL(magicLinkUrl('http://h', page, 'sign-in') + '&token=ml_abc');
    const next = afterMagicLink(back.search);
    expect(next.startsWith('/hosted/sign-in?')).toBe(true);
    const q = new URL(next, 'http://h').searchParams;
    expect(q.has('token')).toBe(false);
    expect(q.get('state')).toBe('s&t');
    expect(parseParams(new URL(next, 'http://h').search).handoff).toEqual(parseParams(page).handoff);

    const adminBack = new URL(magicLinkUrl('http://h', '?pk=pk_test_1', 'org-admin') + '&token=ml_1');
    expect(afterMagicLink(adminBack.search)).toBe('/hosted/org-admin?pk=pk_test_1');
    const invBack = new URL(magicLinkUrl('http://h', '?pk=pk_test_1&code=inv_1', 'invitation') + '&token=ml_1');
    expect(afterMagicLink(invBack.search)).toBe('/hosted/invitation?pk=pk_test_1&code=inv_1');
  });

  it('withoutParams and pageUrl drop what they are told to', () => {
    expect(withoutParams('?a=1&token=t&b=2', ['token'])).toBe('?a=1&b=2');
    expect(withoutParams('?token=t', ['token'])).toBe('');
    expect(pageUrl('sign-in', '?pk=p&code=inv_1', ['code'])).toBe('/hosted/sign-in?pk=p');
  });
});

describe('returning to the app', () => {
  it('appends code and state to the redirect URL, keeping its own query', () => {
    const u = new URL(returnUrl({ redirectUrl: APP, codeChallenge: CHALLENGE, state: 'a b&c' }, 'hc_123'));
    expect(`${u.origin}${u.pathname}`).toBe('http://localhost:3000/callback');
    expect(u.searchParams.get('next')).toBe('/reports');
    expect(u.searchParams.get('code')).toBe('hc_123');
    expect(u.searchParams.get('state')).toBe('a b&c');
  });

  it('sends no state when the app gave none', () => {
    const u = new URL(returnUrl({ redirectUrl: 'http://127.0.0.1:9/cb', codeChallenge: CHALLENGE, state: null }, 'hc_1'));
    expect(u.searchParams.has('state')).toBe(false);
    expect(u.search).toBe('?code=hc_1');
  });

  it('names the app by host', () => {
    expect(appHost({ redirectUrl: APP, codeChallenge: CHALLENGE, state: null })).toBe('localhost:3000');
  });

  it('isHttpUrl accepts only absolute http(s) URLs', () => {
    expect(isHttpUrl('https://app.example.com/cb')).toBe(true);
    expect(isHttpUrl('http://127.0.0.1:1234')).toBe(true);
    expect(isHttpUrl('ftp://x')).toBe(false);
    expect(isHttpUrl('data:text/html,hi')).toBe(false);
    expect(isHttpUrl('//evil.example.com')).toBe(false);
  });
});

describe('the magic link token', () => {
  it('is the LAST token= of the query: the server appends its own after whatever redirect_url carried', () => {
    expect(parseParams('?pk=pk_test_1&token=ml_attacker&token=ml_server').token).toBe('ml_server');
    expect(parseParams('?token=ml_only').token).toBe('ml_only');
    expect(parseParams('?pk=pk_test_1').token).toBeNull();
  });

  it('an empty last token is no token (never an earlier one)', () => {
    expect(parseParams('?token=ml_attacker&token=').token).toBeNull();
    expect(parseParams('?token=ml_attacker&token=%20').token).toBeNull();
  });
});

describe('isHandoffCode', () => {
  it('is a string starting with hc_', () => {
    expect(isHandoffCode('hc_abc')).toBe(true);
    expect(isHandoffCode('hc_')).toBe(false);
    expect(isHandoffCode('ml_abc')).toBe(false);
    expect(isHandoffCode('')).toBe(false);
    expect(isHandoffCode(undefined)).toBe(false);
    expect(isHandoffCode(null)).toBe(false);
    expect(isHandoffCode({ code: 'hc_x' })).toBe(false);
    expect(isHandoffCode(42)).toBe(false);
  });
});

describe('an OAuth authorization request', () => {
  const REQ = 'eyJjIjoib2NfMSJ9.c2lnbmF0dXJl';
  const page = query({ authorization: REQ, pk: 'pk_test_1', organization: 'org_1', login_hint: 'ada@example.com' });

  it('is read with the publishable key, organization and login hint; the page has no handoff then', () => {
    const p = parseParams(page);
    expect(p.authorization).toBe(REQ);
    expect(p.pk).toBe('pk_test_1');
    expect(p.organization).toBe('org_1');
    expect(p.loginHint).toBe('ada@example.com');
    expect(p.handoff).toBeNull();
    expect(p.problem).toBeNull();
    expect(parseParams('?pk=pk_test_1').authorization).toBeNull();
  });

  it('the server says where to return: redirect parameters next to it are not read, nor checked', () => {
    const p = parseParams(`${page}&redirect_url=https%3A%2F%2Fevil.example%2Fcb&code_challenge=short`);
    expect(p.authorization).toBe(REQ);
    expect(p.handoff).toBeNull();
    expect(p.problem).toBeNull();
  });

  it('a request that is not URL-safe characters and dots (or only dots) is a problem, not a request', () => {
    for (const bad of ['a/b', '..', '.', 'a b', 'a?b', 'a%2Fb']) {
      expect(isAuthorizationRequest(bad)).toBe(false);
      const p = parseParams(`?${new URLSearchParams({ authorization: bad, pk: 'pk_test_1' })}`);
      expect(p.authorization).toBeNull();
      expect(p.problem).toMatch(/authorization/);
    }
    expect(isAuthorizationRequest(REQ)).toBe(true);
    expect(isAuthorizationRequest('a-b_c~d.e')).toBe(true);
  });

  it('survives the magic link round trip, whole', () => {
    const back = new URL(magicLinkUrl('http://h', page, 'sign-in') + '&token=ml_abc');
    expect(back.searchParams.get('authorization')).toBe(REQ);
    const next = afterMagicLink(back.search);
    expect(next.startsWith('/hosted/sign-in?')).toBe(true);
    const p = parseParams(new URL(next, 'http://h').search);
    expect([p.authorization, p.pk, p.organization, p.loginHint, p.token]).toEqual([
      REQ,
      'pk_test_1',
      'org_1',
      'ada@example.com',
      null,
    ]);
  });
});

describe('following an OAuth answer', () => {
  const URI = 'http://127.0.0.1:4000/callback';

  it('only the request’s own redirect URI, carrying the code (or the error)', () => {
    expect(isRedirectFor(`${URI}?code=oac_1&state=s&iss=http%3A%2F%2Fa`, URI, 'code')).toBe(true);
    expect(isRedirectFor(`${URI}?error=access_denied&state=s`, URI, 'error')).toBe(true);
    expect(isRedirectFor('http://127.0.0.1:4000/callback?x=1&code=oac_1', 'http://127.0.0.1:4000/callback?x=1', 'code')).toBe(true);
    expect(isRedirectFor('com.example.app:/cb?code=oac_1', 'com.example.app:/cb', 'code')).toBe(true);
    expect(isRedirectFor('http://127.0.0.1:4000/?code=oac_1', 'http://127.0.0.1:4000', 'code')).toBe(true);
  });

  it('anything else is never followed', () => {
    for (const to of [
      `${URI}?state=s`,
      `${URI}?code=`,
      `${URI}?error=access_denied`,
      'http://127.0.0.1:4001/callback?code=oac_1',
      'http://127.0.0.1:4000/other?code=oac_1',
      'https://127.0.0.1:4000/callback?code=oac_1',
      'javascript:alert(1)//?code=1',
      '/callback?code=oac_1',
      42,
      undefined,
      null,
    ]) {
      expect(isRedirectFor(to, URI, 'code'), String(to)).toBe(false);
    }
    expect(isRedirectFor(`${URI}?code=oac_1`, URI, 'error')).toBe(false);
    expect(isRedirectFor(`${URI}?code=oac_1`, 'not a url', 'code')).toBe(false);
  });

  it('names where the client returns: an origin, or a private-use scheme', () => {
    expect(redirectOrigin('https://app.example.com/auth/callback?x=1')).toBe('https://app.example.com');
    expect(redirectOrigin(URI)).toBe('http://127.0.0.1:4000');
    expect(redirectOrigin('com.example.app:/oauth')).toBe('com.example.app');
    expect(redirectOrigin('nonsense')).toBe('nonsense');
  });
});

describe('SSO for the app’s handoff', () => {
  it('starts at the server with this page’s key, the connection and the app’s redirect parameters, all encoded', () => {
    const url = ssoStartUrl('pk_test_1', 'conn_1', { redirectUrl: APP, codeChallenge: CHALLENGE, state: 'a b&c' });
    expect(url).toBe(
      `/v1/auth/sso/start?pk=pk_test_1&connection=conn_1&redirect_url=${encodeURIComponent(APP)}` +
        `&code_challenge=${CHALLENGE}&state=a+b%26c`,
    );
    const q = new URL(url, 'http://localhost').searchParams;
    expect([...q.keys()]).toEqual(['pk', 'connection', 'redirect_url', 'code_challenge', 'state']);
    expect([q.get('redirect_url'), q.get('state')]).toEqual([APP, 'a b&c']);
  });

  it('sends no state when the app sent none, and an empty one as it came', () => {
    const handoff = { redirectUrl: APP, codeChallenge: CHALLENGE, state: null };
    expect(new URL(ssoStartUrl('pk', 'conn_1', handoff), 'http://x').searchParams.has('state')).toBe(false);
    const empty = new URL(ssoStartUrl('pk', 'conn_1', { ...handoff, state: '' }), 'http://x').searchParams;
    expect(empty.get('state')).toBe('');
  });

  it('never sends code_challenge_method (the start takes S256 only, and no unknown parameter)', () => {
    const { handoff } = parseParams(`?pk=pk_1&redirect_url=${encodeURIComponent(APP)}&code_challenge=${CHALLENGE}&code_challenge_method=S256`);
    expect(ssoStartUrl('pk_1', 'conn_1', handoff!)).not.toContain('code_challenge_method');
  });
});
