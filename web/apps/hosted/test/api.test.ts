import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, call, oauthApi, publicApi, userApi } from '../src/lib/api';

type Seen = { url: string; init: RequestInit };

function answer(status: number, body: unknown, headers: Record<string, string> = {}) {
  const seen: Seen[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    seen.push({ url, init });
    return new Response(body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', ...headers },
    });
  });
  return seen;
}

afterEach(() => vi.unstubAllGlobals());

describe('calls', () => {
  it('publishable-key routes send the key and no Authorization', async () => {
    const seen = answer(202, { accepted: true });
    await publicApi('pk_test_1').sendMagicLink('ada@example.com', 'http://localhost/hosted/magic-link?pk=pk_test_1');
    const h = seen[0]!.init.headers as Record<string, string>;
    expect(seen[0]!.url).toBe('/v1/auth/magic-links');
    expect(h['authio-publishable-key']).toBe('pk_test_1');
    expect(h).not.toHaveProperty('authorization');
    expect(JSON.parse(seen[0]!.init.body as string)).toEqual({
      email: 'ada@example.com',
      redirect_url: 'http://localhost/hosted/magic-link?pk=pk_test_1',
    });
  });

  it('the SSO lookup is a GET with the key and the email encoded in the query', async () => {
    const seen = answer(200, { organization_id: 'org_a', connection_id: 'conn_1', required: false });
    expect(await publicApi('pk_test_1').ssoLookup('ada+x@example.com')).toEqual({
      organization_id: 'org_a',
      connection_id: 'conn_1',
      required: false,
    });
    expect(seen[0]!.url).toBe('/v1/auth/sso/lookup?email=ada%2Bx%40example.com');
    expect(seen[0]!.init.method).toBe('GET');
    expect(seen[0]!.init.body).toBeUndefined();
    expect((seen[0]!.init.headers as Record<string, string>)['authio-publishable-key']).toBe('pk_test_1');
  });

  it('verify sends invitation_code only when there is one', async () => {
    const seen = answer(200, {});
    const api = publicApi('pk');
    await api.verifyMagicLink('ml_1', null);
    await api.verifyMagicLink('ml_2', 'inv_1');
    expect(JSON.parse(seen[0]!.init.body as string)).toEqual({ token: 'ml_1' });
    expect(JSON.parse(seen[1]!.init.body as string)).toEqual({ token: 'ml_2', invitation_code: 'inv_1' });
  });

  it('the handoff asks for S256 with the bearer token and the publishable key', async () => {
    const seen = answer(201, { code: 'hc_1', expires_at: '2026-01-01T00:00:00Z' });
    expect(await userApi.createHandoff('at_1', 'pk_test_1', 'http://localhost:3000/cb', 'c'.repeat(43))).toEqual({
      code: 'hc_1',
      expires_at: '2026-01-01T00:00:00Z',
    });
    expect(seen[0]!.url).toBe('/v1/auth/handoffs');
    expect((seen[0]!.init.headers as Record<string, string>).authorization).toBe('Bearer at_1');
    expect((seen[0]!.init.headers as Record<string, string>)['authio-publishable-key']).toBe('pk_test_1');
    expect(JSON.parse(seen[0]!.init.body as string)).toEqual({
      redirect_url: 'http://localhost:3000/cb',
      code_challenge: 'c'.repeat(43),
      code_challenge_method: 'S256',
    });
  });

  it('OAuth: the request and the denial carry no credential; the grant the bearer token only', async () => {
    const seen = answer(200, { redirect_to: 'http://127.0.0.1:4000/cb?code=oac_1' });
    await oauthApi.request('abc.DEF-_~1');
    await oauthApi.request('a/b');
    await oauthApi.authorize('at_1', 'req.1');
    await oauthApi.deny('req.1');
    expect(seen.map((s) => [s.init.method, s.url])).toEqual([
      ['GET', '/v1/oauth2/requests/abc.DEF-_~1'],
      ['GET', '/v1/oauth2/requests/a%2Fb'],
      ['POST', '/v1/oauth2/authorizations'],
      ['POST', '/v1/oauth2/authorizations/deny'],
    ]);
    const headers = seen.map((s) => s.init.headers as Record<string, string>);
    expect(headers.map((h) => h.authorization)).toEqual([undefined, undefined, 'Bearer at_1', undefined]);
    expect(headers.every((h) => !('authio-publishable-key' in h))).toBe(true);
    expect(JSON.parse(seen[2]!.init.body as string)).toEqual({ request: 'req.1' });
    expect(JSON.parse(seen[3]!.init.body as string)).toEqual({ request: 'req.1' });
  });

  it('refresh carries no credential header (the refresh token is in the body)', async () => {
    const seen = answer(200, {});
    await userApi.refresh('rt_1');
    const h = seen[0]!.init.headers as Record<string, string>;
    expect(seen[0]!.url).toBe('/v1/sessions/refresh?include=');
    expect(h).not.toHaveProperty('authorization');
    expect(h).not.toHaveProperty('authio-publishable-key');
  });

  it('org-admin lists page with limit and after, ids escaped', async () => {
    const seen = answer(200, { data: [], next_cursor: null });
    await userApi.members('at', 'org_1', null);
    await userApi.sessions('at', 'org_1', 'sess_9');
    await userApi.audit('at', 'org/1', null);
    await userApi.revokeSession('at', 'org_1', 'sess_2');
    expect(seen.map((s) => s.url)).toEqual([
      '/v1/organizations/org_1/members?limit=100',
      '/v1/organizations/org_1/sessions?limit=100&after=sess_9',
      '/v1/organizations/org%2F1/audit-events?limit=100',
      '/v1/organizations/org_1/sessions/sess_2/revoke',
    ]);
  });
});

describe('errors', () => {
  it('carry the API’s code, message, details and Retry-After', async () => {
    answer(429, { error: { code: 'rate_limited', message: 'slow down', details: { field: 'email' } } }, { 'retry-after': '7' });
    const e = (await call('POST', '/v1/x', { pk: 'p' }, {}).catch((x: unknown) => x)) as ApiError;
    expect(e).toBeInstanceOf(ApiError);
    expect([e.status, e.code, e.message, e.field, e.retryAfter]).toEqual([429, 'rate_limited', 'slow down', 'email', 7]);
  });

  it('an error without the API body is http_<status>', async () => {
    answer(502, '<html>bad gateway</html>');
    const e = (await call('GET', '/v1/x', null).catch((x: unknown) => x)) as ApiError;
    expect([e.status, e.code]).toEqual([502, 'http_502']);
  });

  it('no answer at all is network_error (status 0)', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    const e = (await call('GET', '/v1/x', null).catch((x: unknown) => x)) as ApiError;
    expect([e.status, e.code]).toEqual([0, 'network_error']);
  });

  it('a 2xx that is not JSON is invalid_response; an empty 204 is fine', async () => {
    answer(200, 'not json');
    const e = (await call('GET', '/v1/x', null).catch((x: unknown) => x)) as ApiError;
    expect(e.code).toBe('invalid_response');
    answer(204, undefined);
    expect(await call('POST', '/v1/sessions/revoke', { token: 't' })).toBeUndefined();
  });
});
