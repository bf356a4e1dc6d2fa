// @vitest-environment jsdom
import { act, useState } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuthorizationRequest, MembershipSummary, Project } from '../src/lib/api';
import { leaveTo } from '../src/lib/navigate';
import { s256 } from '../src/lib/pkce';
import { parseParams } from '../src/lib/query';
import { beginSso } from '../src/lib/sso';
import { Tokens } from '../src/lib/tokens';
import { OrgAdminPage } from '../src/pages/OrgAdminPage';
import { SignInPage } from '../src/pages/SignInPage';
import { SsoReturnPage } from '../src/pages/SsoReturnPage';
import {
  alerts,
  button,
  click,
  deferred,
  heading,
  mount,
  sessionAnswer,
  settle,
  stubApi,
  until,
  type Answer,
  type Route,
  type Seen,
} from './dom';

vi.mock('../src/lib/navigate', () => ({ leaveTo: vi.fn() }));
vi.mock('../src/lib/webauthn', () => ({
  passkeysAvailable: () => true,
  getAssertion: async () => ({ id: 'cred_1' }),
  createCredential: async () => ({ id: 'cred_1' }),
}));

const project: Project = { id: 'proj_1', name: 'Acme Cloud', environment: 'test', mode: 'b2b' };
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const APP = 'http://localhost:3000/callback';
const REQ = 'eyJjIjoib2NfMSJ9.c2ln';
const SSO = 'Continue with your organization’s sign-in';
const LINK = 'Email me a sign-in link';
const PASSKEY = 'Sign in with a passkey';
const startUrl = (connection: string) =>
  `/v1/auth/sso/start?pk=pk_test_1&connection=${connection}&redirect_url=${encodeURIComponent(APP)}` +
  `&code_challenge=${CHALLENGE}&state=s1`;

const route = (required: boolean): Answer => [200, { organization_id: 'org_a', connection_id: 'conn_1', required }];
const noRoute: Answer = [404, { error: { code: 'not_found', message: 'no SSO route' } }];
const ssoRequired: Answer = [
  403,
  { error: { code: 'sso_required', message: 'sso only', details: { organization_id: 'org_a', connection_id: 'conn_9' } } },
];

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

const query = (q: Record<string, string>) => `?${new URLSearchParams({ pk: 'pk_test_1', ...q })}`;
const handoffPage = (hint = 'ada@example.com') =>
  mount(<Harness search={query({ redirect_url: APP, code_challenge: CHALLENGE, state: 's1', login_hint: hint })} />);
const oauthPage = () => mount(<Harness search={query({ authorization: REQ })} />);

const email = () => document.querySelector<HTMLInputElement>('input[type="email"]')!;
const names = (el: ParentNode = document) => [...el.querySelectorAll('button')].map((b) => b.textContent);
const lookups = (seen: Seen[]) => seen.filter((s) => s.path === '/v1/auth/sso/lookup').map((s) => s.url);
const posted = (seen: Seen[], path: string) => seen.some((s) => s.method === 'POST' && s.path === path);

/** Type into a React-controlled input, as the browser's input event does. */
async function type(input: HTMLInputElement, value: string): Promise<void> {
  await act(async () => {
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(input, value);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.mocked(leaveTo).mockReset();
  document.body.innerHTML = '';
});

describe('SSO on the sign-in page that hands off to an app', () => {
  it('an email with a route is offered its organization’s sign-in, at the server’s start with this page’s parameters', async () => {
    const seen = stubApi({ 'GET /v1/auth/sso/lookup': () => route(false) });
    const m = handoffPage();
    const sso = await until(() => button(SSO, m.el));
    expect(lookups(seen)).toEqual(['/v1/auth/sso/lookup?email=ada%40example.com']);
    // Next to the email link and the passkey, and described by the field's hint.
    expect(names(m.el)).toEqual([LINK, SSO, PASSKEY]);
    const hint = document.getElementById(sso.getAttribute('aria-describedby')!)!;
    expect(hint.getAttribute('role')).toBe('status');
    expect(hint.textContent).toContain('Your organization (example.com) also has its own sign-in');
    await click(sso);
    expect(leaveTo).toHaveBeenCalledWith(startUrl('conn_1'));
    expect(posted(seen, '/v1/auth/magic-links')).toBe(false);
  });

  it('required: only SSO, explained (no email link, no passkey); Enter in the field goes there too', async () => {
    const seen = stubApi({ 'GET /v1/auth/sso/lookup': () => route(true) });
    const m = handoffPage();
    await until(() => expect(names(m.el)).toEqual([SSO]));
    expect(m.el.textContent).toContain('Your organization (example.com) signs you in only through its own identity provider');
    await act(async () => m.el.querySelector('form')!.requestSubmit());
    expect(leaveTo).toHaveBeenCalledWith(startUrl('conn_1'));
    await click(button(SSO, m.el));
    expect(leaveTo).toHaveBeenCalledTimes(2);
    expect(posted(seen, '/v1/auth/magic-links')).toBe(false);
  });

  it('no route (404): the form as before, and the link is sent', async () => {
    const seen = stubApi({
      'GET /v1/auth/sso/lookup': () => noRoute,
      'POST /v1/auth/magic-links': () => [202, { accepted: true }],
    });
    const m = handoffPage();
    await until(() => expect(lookups(seen)).toHaveLength(1));
    await settle();
    expect(names(m.el)).toEqual([LINK, PASSKEY]);
    expect(m.el.textContent).toContain('We will email you a link that signs you in.');
    expect(alerts(m.el)).toEqual([]);
    await click(button(LINK, m.el));
    await until(() => expect(heading(m.el)).toBe('Check your email'));
    expect(leaveTo).not.toHaveBeenCalled();
  });

  it('the offer belongs to its email: another one drops it; typing is looked up once it pauses on an address', async () => {
    const seen: Seen[] = stubApi({
      'GET /v1/auth/sso/lookup': () => (seen.at(-1)!.url.endsWith('%40example.com') ? route(true) : noRoute),
    });
    const m = handoffPage();
    await until(() => expect(names(m.el)).toEqual([SSO]));
    await type(email(), 'ada@other.org');
    // At once, before its own lookup answers.
    expect(names(m.el)).toEqual([LINK, PASSKEY]);
    await until(() => expect(lookups(seen)).toHaveLength(2));
    await type(email(), 'bob@example');
    await type(email(), 'bob@example.co');
    await type(email(), 'bob@example.com');
    await until(() => expect(names(m.el)).toEqual([SSO]));
    expect(lookups(seen)).toEqual([
      '/v1/auth/sso/lookup?email=ada%40example.com',
      '/v1/auth/sso/lookup?email=ada%40other.org',
      '/v1/auth/sso/lookup?email=bob%40example.com',
    ]);
  });

  it('a magic link answered sso_required switches to SSO, which takes the focus (no alert)', async () => {
    // The lookup has not answered yet when the user asks for the link.
    const held = deferred<Answer>();
    const seen = stubApi({ 'GET /v1/auth/sso/lookup': () => held.promise, 'POST /v1/auth/magic-links': () => ssoRequired });
    const m = handoffPage();
    await click(button(LINK, m.el));
    const sso = await until(() => button(SSO, m.el));
    expect(names(m.el)).toEqual([SSO]);
    expect(document.activeElement).toBe(sso);
    expect(alerts(m.el)).toEqual([]);
    await click(sso);
    expect(leaveTo).toHaveBeenCalledWith(startUrl('conn_9'));
    expect(seen.filter((s) => s.path === '/v1/auth/magic-links')).toHaveLength(1);
    held.resolve(noRoute);
  });
});

describe('SSO that the page starts for itself (OAuth, org admin, its own sign-in), back through /hosted/sso', () => {
  const client: AuthorizationRequest = {
    client_id: 'oc_1',
    client_name: 'Demo Client',
    scopes: ['openid'],
    organization: null,
    login_hint: 'ada@example.com',
    prompt: null,
    redirect_uri: 'http://127.0.0.1:4000/callback',
  };
  const oauth = (extra: Record<string, Route>) => stubApi({ [`GET /v1/oauth2/requests/${REQ}`]: () => [200, client], ...extra });
  const acme: MembershipSummary = { organization: { id: 'org_a', name: 'Acme', slug: 'acme' }, role: 'member', status: 'active' };
  const answer = (n: number, org: MembershipSummary | null) => sessionAnswer(n, [acme], org);

  beforeEach(() => sessionStorage.clear());

  /** Where the page sent the browser: the start's parameters, and the return URL's. */
  function started(): { start: URLSearchParams; back: URL } {
    const to = vi.mocked(leaveTo).mock.calls.at(-1)![0];
    const url = new URL(to, 'http://localhost');
    expect(url.pathname).toBe('/v1/auth/sso/start');
    return { start: url.searchParams, back: new URL(url.searchParams.get('redirect_url')!) };
  }

  it('OAuth, required: its sign-in alone (Cancel stays); it returns to /hosted/sso with the request, bound to a verifier this tab keeps', async () => {
    oauth({ 'GET /v1/auth/sso/lookup': () => route(true) });
    const m = oauthPage();
    const sso = await until(() => button(SSO, m.el));
    expect(names(m.el)).toEqual([SSO, 'Cancel']);
    expect(m.el.textContent).toContain('Your organization (example.com) signs you in only through its own identity provider');
    await click(sso);
    await until(() => expect(leaveTo).toHaveBeenCalledTimes(1));
    const { start, back } = started();
    expect(start.get('pk')).toBe('pk_test_1');
    expect(start.get('connection')).toBe('conn_1');
    expect(back.origin + back.pathname).toBe(`${location.origin}/hosted/sso`);
    expect(Object.fromEntries(back.searchParams)).toEqual({ pk: 'pk_test_1', authorization: REQ });
    // The challenge is the S256 of the verifier kept under the state.
    const key = start.get('state')!;
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const kept = JSON.parse(sessionStorage.getItem(`authio.sso.${key}`)!) as { verifier: string };
    expect(start.get('code_challenge')).toBe(await s256(kept.verifier));
    expect(start.get('code_challenge')).not.toBe(CHALLENGE);
  });

  it('OAuth, a route that is not required: offered beside the link and the passkey', async () => {
    const seen = oauth({ 'GET /v1/auth/sso/lookup': () => route(false) });
    const m = oauthPage();
    await until(() => expect(lookups(seen)).toHaveLength(1));
    await until(() => expect(names(m.el)).toEqual([LINK, SSO, PASSKEY, 'Cancel']));
  });

  it('OAuth, a magic link answered sso_required: its sign-in, focused', async () => {
    oauth({ 'GET /v1/auth/sso/lookup': () => noRoute, 'POST /v1/auth/magic-links': () => ssoRequired });
    const m = oauthPage();
    await click(await until(() => button(LINK, m.el)));
    const sso = await until(() => button(SSO, m.el));
    expect(document.activeElement).toBe(sso);
    expect(names(m.el)).toEqual([SSO, 'Cancel']);
    await click(sso);
    await until(() => expect(started().start.get('connection')).toBe('conn_9'));
  });

  it('org admin and this page’s own sign-in, required: their sign-in, returning with `from`', async () => {
    const props = {
      pk: 'pk_test_1',
      project,
      params: parseParams('?pk=pk_test_1&login_hint=ada%40example.com'),
      search: '?pk=pk_test_1&login_hint=ada%40example.com',
      tokens: null,
      onSignedIn: () => undefined,
      onSignOut: () => undefined,
    };
    const froms: (string | null)[] = [];
    for (const page of [<OrgAdminPage {...props} />, <SignInPage {...props} />]) {
      stubApi({ 'GET /v1/auth/sso/lookup': () => route(true) });
      const m = mount(page);
      if (!email().value) await type(email(), 'ada@example.com');
      await click(await until(() => button(SSO, m.el)));
      await until(() => expect(leaveTo).toHaveBeenCalledTimes(froms.length + 1));
      froms.push(started().back.searchParams.get('from'));
      m.unmount();
    }
    expect(froms).toEqual(['org-admin', null]);
  });

  const returnPage = (search: string, code: string | null) => {
    const onReturn = vi.fn();
    const m = mount(
      <SsoReturnPage
        pk="pk_test_1"
        project={project}
        params={parseParams(search)}
        search={search}
        tokens={null}
        code={code}
        onReturn={onReturn}
        onSignedIn={() => undefined}
        onSignOut={() => undefined}
      />,
    );
    return { m, onReturn };
  };

  it('the return: the code redeemed with the kept verifier (once), then the OAuth request goes on signed in', async () => {
    const { key, challenge } = await beginSso();
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const kept = JSON.parse(sessionStorage.getItem(`authio.sso.${key}`)!) as { verifier: string };
    const seen = oauth({
      'POST /v1/auth/handoffs/exchange': () => [200, answer(1, acme)],
      'POST /v1/sessions/switch-org': () => [200, answer(2, acme)],
      'POST /v1/oauth2/authorizations': () => [200, { redirect_to: `${client.redirect_uri}?code=oac_1` }],
    });
    const { m: r, onReturn } = returnPage(`?pk=pk_test_1&authorization=${REQ}&state=${key}`, 'hc_1');
    await until(() => expect(onReturn).toHaveBeenCalledWith(`/hosted/sign-in?pk=pk_test_1&authorization=${REQ}`));
    expect(seen.filter((x) => x.path === '/v1/auth/handoffs/exchange').map((x) => x.body)).toEqual([
      { code: 'hc_1', code_verifier: kept.verifier },
    ]);
    expect(sessionStorage.getItem(`authio.sso.${key}`)).toBeNull();
    r.unmount();
    // The page the flow started on takes the sign-in: one membership, straight to the client.
    oauthPage();
    await until(() => expect(leaveTo).toHaveBeenCalledWith(`${client.redirect_uri}?code=oac_1`));
    expect(posted(seen, '/v1/auth/magic-links')).toBe(false);
  });

  it('a code this tab did not ask for (no verifier under its state) is never redeemed', async () => {
    const seen = stubApi({});
    const { m, onReturn } = returnPage(`?pk=pk_test_1&authorization=${REQ}&state=${'x'.repeat(43)}`, 'hc_3');
    await until(() => expect(heading(m.el)).toBe('Single sign-on did not work'));
    expect(alerts(m.el)).toEqual(['This sign-in was not started here, or took too long. Start signing in again.']);
    expect(m.el.querySelector('a')!.getAttribute('href')).toBe(`/hosted/sign-in?pk=pk_test_1&authorization=${REQ}`);
    expect(seen).toEqual([]);
    expect(onReturn).not.toHaveBeenCalled();
  });

  it('the server’s error=sso_failed is shown with its reason, and the started sign-in is forgotten', async () => {
    const { key } = await beginSso();
    const seen = stubApi({});
    const q = new URLSearchParams({ pk: 'pk_test_1', from: 'org-admin', state: key, error: 'sso_failed', error_description: 'not verified' });
    const { m } = returnPage(`?${q}`, null);
    await until(() => expect(heading(m.el)).toBe('Single sign-on did not work'));
    expect(alerts(m.el)).toEqual(['Your organization’s sign-in did not sign you in. not verified']);
    expect(m.el.querySelector('a')!.getAttribute('href')).toBe('/hosted/org-admin?pk=pk_test_1');
    expect(seen).toEqual([]);
    expect(sessionStorage.getItem(`authio.sso.${key}`)).toBeNull();
  });

  it('a refused exchange is explained', async () => {
    const { key } = await beginSso();
    stubApi({ 'POST /v1/auth/handoffs/exchange': () => [400, { error: { code: 'invalid_handoff', message: 'no' } }] });
    const { m, onReturn } = returnPage(`?pk=pk_test_1&state=${key}`, 'hc_2');
    await until(() => expect(heading(m.el)).toBe('Single sign-on did not work'));
    expect(alerts(m.el)).toHaveLength(1);
    expect(onReturn).not.toHaveBeenCalled();
  });
});
