// @vitest-environment jsdom
import { useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuthorizationRequest, MembershipSummary, Project, SessionAnswer } from '../src/lib/api';
import { leaveTo } from '../src/lib/navigate';
import { parseParams } from '../src/lib/query';
import { Tokens } from '../src/lib/tokens';
import { SignInPage } from '../src/pages/SignInPage';
import { alerts, button, click, heading, mount, sessionAnswer, stubApi, until, type Answer, type Route } from './dom';

vi.mock('../src/lib/navigate', () => ({ leaveTo: vi.fn() }));
vi.mock('../src/lib/webauthn', () => ({
  passkeysAvailable: () => true,
  getAssertion: async () => ({ id: 'cred_1' }),
  createCredential: async () => ({ id: 'cred_1' }),
}));

const project: Project = { id: 'proj_1', name: 'Acme Cloud', environment: 'test', mode: 'b2b' };
const REQ = 'eyJjIjoib2NfMSJ9.c2ln';
const URI = 'http://127.0.0.1:4000/callback';
const CODE = `${URI}?code=oac_1&state=s1&iss=http%3A%2F%2Flocalhost%3A8080`;
const DENIED = `${URI}?error=access_denied&state=s1&iss=http%3A%2F%2Flocalhost%3A8080`;
const acme: MembershipSummary = { organization: { id: 'org_a', name: 'Acme', slug: 'acme' }, role: 'admin', status: 'active' };
const globex: MembershipSummary = { organization: { id: 'org_g', name: 'Globex', slug: 'globex' }, role: 'member', status: 'active' };

function client(extra: Partial<AuthorizationRequest> = {}): AuthorizationRequest {
  return {
    client_id: 'oc_1',
    client_name: 'Demo Client',
    scopes: ['openid', 'email'],
    organization: null,
    login_hint: 'ada@example.com',
    prompt: null,
    redirect_uri: URI,
    ...extra,
  };
}

const session = sessionAnswer;

/** The app's part: it keeps the tokens the page signs in with. */
function Harness({ search }: { search: string }) {
  const [tokens, setTokens] = useState<Tokens | null>(null);
  return (
    <SignInPage
      pk="pk_test_1"
      project={project}
      params={parseParams(search)}
      search={search}
      tokens={tokens}
      onSignedIn={(a) => setTokens(new Tokens(a))}
      onSignOut={() => setTokens(null)}
    />
  );
}

const page = (extra: Record<string, string> = {}) =>
  mount(<Harness search={`?${new URLSearchParams({ authorization: REQ, pk: 'pk_test_1', ...extra })}`} />);

/** The request, a passkey sign-in as `signedIn`, switches answered by organization, and `extra`. */
function routes(request: Answer, signedIn: SessionAnswer, extra: Record<string, Route> = {}) {
  return stubApi({
    [`GET /v1/oauth2/requests/${REQ}`]: () => request,
    'POST /v1/auth/passkeys/authentication/start': () => [200, { ceremony_id: 'cer_1', options: {} }],
    'POST /v1/auth/passkeys/authentication/finish': () => [200, signedIn],
    'POST /v1/sessions/switch-org': (body) => {
      const id = (body as { organization_id: string }).organization_id;
      const m = [acme, globex].find((x) => x.organization.id === id)!;
      return [200, session(id === 'org_a' ? 2 : 3, signedIn.memberships!, m)];
    },
    'POST /v1/oauth2/authorizations': () => [200, { redirect_to: CODE }],
    'POST /v1/oauth2/authorizations/deny': () => [200, { redirect_to: DENIED }],
    ...extra,
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.mocked(leaveTo).mockReset();
  document.body.innerHTML = '';
});

describe('an OAuth client’s sign-in', () => {
  it('names the client and where it returns, prefills the hint, and mails a link that carries the request', async () => {
    const seen = routes([200, client()], session(1, []), {
      'POST /v1/auth/magic-links': () => [202, { accepted: true }],
    });
    const m = page();
    await until(() => expect(heading(m.el)).toBe('Sign in to continue to Demo Client'));
    expect(m.el.textContent).toContain('After you sign in, you return to http://127.0.0.1:4000.');
    expect(m.el.querySelector<HTMLInputElement>('input[type="email"]')!.value).toBe('ada@example.com');
    expect(button('Cancel', m.el)).toBeTruthy();
    expect(seen[0]!.authorization).toBeUndefined();

    await click(button('Email me a sign-in link', m.el));
    await until(() => expect(heading(m.el)).toBe('Check your email'));
    const link = new URL((seen.find((s) => s.path === '/v1/auth/magic-links')!.body as { redirect_url: string }).redirect_url);
    expect(link.pathname).toBe('/hosted/magic-link');
    expect(link.searchParams.get('authorization')).toBe(REQ);
    expect(link.searchParams.get('pk')).toBe('pk_test_1');
  });

  it('an invalid or expired request is explained, with no form and nothing to follow', async () => {
    routes([400, { error: { code: 'invalid_authorization_request', message: 'expired' } }], session(1, []));
    const m = page();
    await until(() => expect(heading(m.el)).toBe('This sign-in request cannot be used'));
    expect(alerts(m.el)).toEqual([
      'This sign-in request is not valid or has expired (requests last 10 minutes).',
    ]);
    expect(m.el.querySelector('input')).toBeNull();
    expect(m.el.querySelectorAll('button')).toHaveLength(0);
  });

  it('after sign-in: the chooser, then the grant with the chosen context’s token, then the server’s redirect', async () => {
    const seen = routes([200, client({ login_hint: null })], session(1, [acme, globex]));
    const m = page();
    await until(() => button('Sign in with a passkey', m.el));
    await click(button('Sign in with a passkey', m.el));
    await until(() => expect(heading(m.el)).toBe('Choose an organization'));
    expect(m.el.textContent).toContain('Which organization do you want to use in Demo Client?');
    await click(m.el.querySelector('button[aria-label="Globex (member)"]'));
    await until(() => expect(leaveTo).toHaveBeenCalledWith(CODE));
    const grant = seen.find((s) => s.path === '/v1/oauth2/authorizations')!;
    expect(grant.authorization).toBe('Bearer at_3');
    expect(grant.body).toEqual({ request: REQ });
    expect(heading(m.el)).toBe('Returning to Demo Client');
    expect(seen.some((s) => s.path === '/v1/auth/handoffs')).toBe(false);
  });

  it('the organization the request names is entered without the chooser', async () => {
    const seen = routes([200, client({ organization: 'org_a' })], session(1, [acme, globex]));
    const m = page({ organization: 'org_a' });
    await until(() => button('Sign in with a passkey', m.el));
    await click(button('Sign in with a passkey', m.el));
    await until(() => expect(leaveTo).toHaveBeenCalledWith(CODE));
    expect(seen.filter((s) => s.path === '/v1/sessions/switch-org').map((s) => s.body)).toEqual([{ organization_id: 'org_a' }]);
    expect(seen.find((s) => s.path === '/v1/oauth2/authorizations')!.authorization).toBe('Bearer at_2');
  });

  it('prompt=select_account offers the chooser even for one organization', async () => {
    routes([200, client({ prompt: 'login select_account' })], session(1, [acme]));
    const m = page();
    await until(() => button('Sign in with a passkey', m.el));
    await click(button('Sign in with a passkey', m.el));
    await until(() => expect(heading(m.el)).toBe('Choose an organization'));
    expect(leaveTo).not.toHaveBeenCalled();
    await click(m.el.querySelector('button[aria-label="Acme (admin)"]'));
    await until(() => expect(leaveTo).toHaveBeenCalledWith(CODE));
  });

  it('a grant answered with another URL, or refused, is shown and never followed', async () => {
    for (const [answer, alert, retry] of [
      [[200, { redirect_to: 'https://evil.example/callback?code=oac_1' }], 'The sign-in service did not answer with a way back to Demo Client. Try again.', true],
      [[200, { redirect_to: `${URI}?state=s1` }], 'The sign-in service did not answer with a way back to Demo Client. Try again.', true],
      [
        [400, { error: { code: 'invalid_authorization_request', message: 'expired' } }],
        'This sign-in request is not valid or has expired (requests last 10 minutes).',
        false,
      ],
    ] as Array<[Answer, string, boolean]>) {
      routes([200, client()], session(1, []), { 'POST /v1/oauth2/authorizations': () => answer });
      const m = page();
      await until(() => button('Sign in with a passkey', m.el));
      await click(button('Sign in with a passkey', m.el));
      await until(() => expect(heading(m.el)).toBe('You could not be returned to Demo Client'));
      expect(alerts(m.el)).toEqual([alert]);
      if (retry) expect(button('Try again', m.el)).toBeTruthy();
      else expect(() => button('Try again', m.el)).toThrow(/no button/);
      m.unmount();
    }
    expect(leaveTo).not.toHaveBeenCalled();
  });

  it('Cancel denies the request and follows the server’s way back; a wrong answer is not followed', async () => {
    const seen = routes([200, client()], session(1, []));
    let m = page();
    await until(() => button('Cancel', m.el));
    await click(button('Cancel', m.el));
    await until(() => expect(leaveTo).toHaveBeenCalledWith(DENIED));
    const deny = seen.find((s) => s.path === '/v1/oauth2/authorizations/deny')!;
    expect(deny.body).toEqual({ request: REQ });
    expect(deny.authorization).toBeUndefined();
    m.unmount();
    vi.mocked(leaveTo).mockReset();

    routes([200, client()], session(1, []), {
      'POST /v1/oauth2/authorizations/deny': () => [200, { redirect_to: `${URI}?code=oac_1` }],
    });
    m = page();
    await until(() => button('Cancel', m.el));
    await click(button('Cancel', m.el));
    await until(() => expect(alerts(m.el)).toEqual(['The sign-in service did not answer with a way back to Demo Client. Try again.']));
    expect(button('Cancel', m.el).disabled).toBe(false);
    expect(leaveTo).not.toHaveBeenCalled();
  });
});
