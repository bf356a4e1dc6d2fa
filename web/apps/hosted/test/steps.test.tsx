// @vitest-environment jsdom
import { act } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Continue } from '../src/components/Continue';
import { EnterOrganization } from '../src/components/EnterOrganization';
import { Heading, headingText } from '../src/components/Heading';
import { ReturnToApp } from '../src/components/ReturnToApp';
import { SignInForm } from '../src/components/SignInForm';
import type { MembershipSummary, Project, SessionAnswer } from '../src/lib/api';
import { leaveTo } from '../src/lib/navigate';
import { parseParams } from '../src/lib/query';
import { handoffReturn } from '../src/lib/returns';
import { Tokens } from '../src/lib/tokens';
import { OrgAdminPage } from '../src/pages/OrgAdminPage';
import { alerts, button, click, deferred, heading, mount, sessionAnswer, settle, stubApi, until, type Answer } from './dom';

vi.mock('../src/lib/navigate', () => ({ leaveTo: vi.fn() }));
vi.mock('../src/lib/webauthn', () => ({
  passkeysAvailable: () => true,
  getAssertion: async () => ({ id: 'cred_1' }),
  createCredential: async () => ({ id: 'cred_1' }),
}));

const project: Project = { id: 'proj_1', name: 'Acme Cloud', environment: 'test', mode: 'b2b' };
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const handoff = { redirectUrl: 'http://localhost:3000/callback', codeChallenge: CHALLENGE, state: 's1' };
const noop = () => undefined;

const session = (memberships: MembershipSummary[] = [], org: MembershipSummary | null = null) =>
  sessionAnswer(1, memberships, org);
const acme: MembershipSummary = { organization: { id: 'org_a', name: 'Acme', slug: 'acme' }, role: 'admin', status: 'active' };
const stepUp: Answer = [403, { error: { code: 'step_up_required', message: 'step up', details: { require_passkey: true } } }];

afterEach(() => {
  vi.unstubAllGlobals();
  vi.mocked(leaveTo).mockReset();
  document.body.innerHTML = '';
});

// First in this file: the page's first heading does not take the focus; later ones do.
describe('the heading', () => {
  function Steps({ step }: { step: 1 | 2 | 3 }) {
    return step === 1 ? <Heading>First</Heading> : step === 2 ? <Heading>Second {'step'}</Heading> : <Heading>Third</Heading>;
  }

  it('takes the focus when a step swaps its text, though React reuses the component', () => {
    const m = mount(<Steps step={1} />);
    const h1 = () => m.el.querySelector('h1')!;
    const first = h1();
    expect(document.activeElement).toBe(document.body);
    m.rerender(<Steps step={2} />);
    expect(h1().textContent).toBe('Second step');
    // A new element for the new step (keyed by its text), and the focus on it.
    expect(h1()).not.toBe(first);
    expect(document.activeElement).toBe(h1());
    // The same text again (a re-render, not a new step): the focus stays where the user put it.
    const input = document.createElement('input');
    document.body.appendChild(input);
    input.focus();
    m.rerender(<Steps step={2} />);
    expect(document.activeElement).toBe(input);
    m.rerender(<Steps step={3} />);
    expect(document.activeElement).toBe(h1());
    // Even from the previous step's focused heading, the focus moves to the new one.
    const third = h1();
    m.rerender(<Steps step={1} />);
    expect(h1()).not.toBe(third);
    expect(document.activeElement).toBe(h1());
    m.unmount();
  });

  it('reads the text of strings, numbers and elements', () => {
    expect(headingText(['Returning to ', 'localhost:3000'])).toBe('Returning to localhost:3000');
    expect(headingText(<>You joined <strong>Acme</strong> ({2})</>)).toBe('You joined Acme (2)');
    expect(headingText(null)).toBe('');
  });

  it('the step-up prompt takes the focus from "Opening …"', async () => {
    stubApi({ 'POST /v1/sessions/switch-org': () => stepUp });
    const m = mount(
      <EnterOrganization base={new Tokens(session([acme]))} organizationId="org_a" name="Acme" onEntered={noop} onBack={null} backLabel="" />,
    );
    expect(heading(m.el)).toBe('Opening Acme');
    const opening = m.el.querySelector('h1');
    await until(() => expect(heading(m.el)).toBe('Confirm it’s you'));
    expect(m.el.querySelector('h1')).not.toBe(opening);
    expect(document.activeElement).toBe(m.el.querySelector('h1'));
    m.unmount();
  });
});

describe('the sign-in form', () => {
  const form = (onSignedIn: (a: SessionAnswer) => void | Promise<void> = noop) => (
    <SignInForm
      pk="pk_test_1"
      project={project}
      search="?pk=pk_test_1"
      flow="sign-in"
      email="ada@example.com"
      title="Sign in to Acme Cloud"
      onSignedIn={onSignedIn}
    />
  );
  const email = () => document.querySelector('input[type="email"]')!;

  it('marks the email field invalid only for an error about the email, and points it at the alert', async () => {
    stubApi({
      'POST /v1/auth/magic-links': () => [400, { error: { code: 'invalid_request', message: 'bad', details: { field: 'email' } } }],
    });
    mount(form());
    const hint = email().getAttribute('aria-describedby')!;
    await click(button('Email me a sign-in link'));
    await until(() => expect(alerts()).toEqual(['Enter a valid email address.']));
    expect(email().getAttribute('aria-invalid')).toBe('true');
    const alert = document.querySelector('[role="alert"]')!;
    expect(alert.id).toBeTruthy();
    expect(email().getAttribute('aria-describedby')).toBe(`${hint} ${alert.id}`);
  });

  it('other errors (network, rate limit) leave the field valid and described by its hint only', async () => {
    for (const answer of [
      new Error('offline'),
      [429, { error: { code: 'rate_limited', message: 'slow down' } }] as Answer,
      [400, { error: { code: 'invalid_request', message: 'bad redirect', details: { field: 'redirect_url' } } }] as Answer,
    ]) {
      stubApi({ 'POST /v1/auth/magic-links': () => answer });
      const m = mount(form());
      const hint = email().getAttribute('aria-describedby');
      await click(button('Email me a sign-in link'));
      await until(() => expect(alerts()).toHaveLength(1));
      expect(email().hasAttribute('aria-invalid')).toBe(false);
      expect(email().getAttribute('aria-describedby')).toBe(hint);
      m.unmount();
    }
  });

  const passkeyRoutes = () =>
    stubApi({
      'POST /v1/auth/passkeys/authentication/start': () => [200, { ceremony_id: 'cer_1', options: {} }],
      'POST /v1/auth/passkeys/authentication/finish': () => [200, session()],
    });

  it('a passkey sign-in stays busy while the page handles it, and the buttons come back when it is done', async () => {
    passkeyRoutes();
    const handled = deferred<void>();
    const onSignedIn = vi.fn(() => handled.promise);
    mount(form(onSignedIn));
    await click(button('Sign in with a passkey'));
    await until(() => expect(onSignedIn).toHaveBeenCalledTimes(1));
    expect(button('Waiting for your passkey…').disabled).toBe(true);
    expect(button('Email me a sign-in link').disabled).toBe(true);
    await act(async () => handled.resolve());
    await settle();
    expect(button('Sign in with a passkey').disabled).toBe(false);
    expect(button('Email me a sign-in link').disabled).toBe(false);
  });

  it('a failing onSignedIn is shown, and the buttons work again', async () => {
    passkeyRoutes();
    mount(
      form(async () => {
        throw new Error('It went wrong.');
      }),
    );
    await click(button('Sign in with a passkey'));
    await until(() => expect(alerts()).toEqual(['It went wrong.']));
    expect(button('Sign in with a passkey').disabled).toBe(false);
    expect(email().hasAttribute('aria-invalid')).toBe(false);
  });

  it('"Check your email" takes the focus from the form’s heading', async () => {
    stubApi({ 'POST /v1/auth/magic-links': () => [202, { accepted: true }] });
    mount(form());
    const send = button('Email me a sign-in link');
    send.focus();
    await click(send);
    await until(() => expect(heading()).toBe('Check your email'));
    expect(document.activeElement).toBe(document.querySelector('h1'));
  });
});

describe('back to the app', () => {
  const returning = () =>
    mount(<ReturnToApp tokens={new Tokens(session())} to={handoffReturn('pk_test_1', handoff)} onBack={null} />);

  it('goes to the app with a handoff code', async () => {
    stubApi({ 'POST /v1/auth/handoffs': () => [201, { code: 'hc_1', expires_at: '2026-01-01T00:00:00Z' }] });
    returning();
    await until(() => expect(leaveTo).toHaveBeenCalledTimes(1));
    expect(leaveTo).toHaveBeenCalledWith('http://localhost:3000/callback?code=hc_1&state=s1');
  });

  it('an answer without an hc_ code is an error, never followed (and its heading takes the focus)', async () => {
    for (const body of [{ code: 'ml_stolen' }, { code: 42 }, {}, undefined]) {
      stubApi({ 'POST /v1/auth/handoffs': () => [201, body] });
      const m = returning();
      const before = m.el.querySelector('h1');
      await until(() => expect(heading(m.el)).toBe('You could not be returned to localhost:3000'));
      expect(m.el.querySelector('h1')).not.toBe(before);
      expect(alerts(m.el)).toEqual(['The sign-in service did not answer with a sign-in code for the app. Try again.']);
      expect(document.activeElement).toBe(m.el.querySelector('h1'));
      expect(button('Try again', m.el)).toBeTruthy();
      m.unmount();
    }
    expect(leaveTo).not.toHaveBeenCalled();
  });
});

describe('continue to the app', () => {
  it('an organization asked for by a user with no active membership is explained; sign out is offered', async () => {
    const seen = stubApi({});
    const onSignOut = vi.fn();
    const m = mount(
      <Continue
        base={new Tokens(session([{ ...acme, status: 'inactive' }]))}
        to={handoffReturn('pk_test_1', handoff)}
        preselect="org_x"
        onSignOut={onSignOut}
      />,
    );
    await settle();
    expect(heading(m.el)).toBe('You are not a member of this organization');
    expect(alerts(m.el)[0]).toContain('ada@example.com');
    // No link back to the (unapproved) redirect_url, no switch, no handoff.
    expect(m.el.querySelector('a')).toBeNull();
    expect(m.el.textContent).not.toContain('localhost:3000');
    expect(seen).toEqual([]);
    await click(button('Sign out and use another account', m.el));
    expect(onSignOut).toHaveBeenCalledTimes(1);
    expect(leaveTo).not.toHaveBeenCalled();
  });

  it('with other memberships, the organization asked for is tried (the server decides)', async () => {
    const seen = stubApi({ 'POST /v1/sessions/switch-org': () => [403, { error: { code: 'not_a_member', message: 'no' } }] });
    const m = mount(
      <Continue base={new Tokens(session([acme]))} to={handoffReturn('pk_test_1', handoff)} preselect="org_x" onSignOut={noop} />,
    );
    await until(() => expect(heading(m.el)).toBe('org_x could not be opened'));
    expect(seen.map((s) => s.body)).toEqual([{ organization_id: 'org_x' }]);
    expect(button('Choose another organization', m.el)).toBeTruthy();
  });
});

describe('org admin: show more', () => {
  it('fetches one page at a time: the button is disabled while its page loads', async () => {
    const member = (n: number) => ({
      id: `mem_${n}`,
      user_id: `user_${n}`,
      organization_id: 'org_a',
      role: 'member',
      status: 'active',
      joined_at: null,
      created_at: '2026-01-01T00:00:00Z',
      user: { id: `user_${n}`, email: `u${n}@example.com`, first_name: null, last_name: null },
    });
    const second = deferred<Answer>();
    let pages = 0;
    const seen = stubApi({
      'POST /v1/sessions/switch-org': () => [200, session([acme], acme)],
      // The first page, then the next one held open until the test lets it go.
      'GET /v1/organizations/org_a/members': () =>
        pages++ === 0 ? [200, { data: [member(1)], next_cursor: 'cur_1' }] : second.promise,
      'GET /v1/organizations/org_a/sessions': () => [200, { data: [], next_cursor: null }],
      'GET /v1/organizations/org_a/audit-events': () => [200, { data: [], next_cursor: null }],
    });
    const props = {
      pk: 'pk_test_1',
      project,
      params: parseParams('?pk=pk_test_1'),
      search: '?pk=pk_test_1',
      tokens: new Tokens(session([acme])),
      onSignedIn: noop,
      onSignOut: noop,
    };
    mount(<OrgAdminPage {...props} />);
    const more = await until(() => button('Show more members'));
    // Two quick clicks: one request.
    await act(async () => {
      more.click();
      more.click();
    });
    expect(button('Loading…').disabled).toBe(true);
    await click(button('Loading…'));
    await act(async () => second.resolve([200, { data: [member(2)], next_cursor: null }]));
    await until(() => expect(document.body.textContent).toContain('u2@example.com'));
    expect(() => button('Show more members')).toThrow();
    expect(seen.filter((s) => s.path.endsWith('/members')).map((s) => s.url)).toEqual([
      '/v1/organizations/org_a/members?limit=100',
      '/v1/organizations/org_a/members?limit=100&after=cur_1',
    ]);
  });
});
