// @vitest-environment jsdom
import { useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, type MembershipSummary, type Project } from '../src/lib/api';
import { leaveTo } from '../src/lib/navigate';
import { parseParams } from '../src/lib/query';
import { setPendingSignIn } from '../src/lib/sso';
import { Tokens } from '../src/lib/tokens';
import { acceptedAnyway, InvitationPage, withMembership } from '../src/pages/InvitationPage';
import { alerts, button, click, heading, mount, sessionAnswer, stubApi, until, type Answer, type Route } from './dom';

vi.mock('../src/lib/navigate', () => ({ leaveTo: vi.fn() }));
vi.mock('../src/lib/webauthn', () => ({
  passkeysAvailable: () => true,
  getAssertion: async () => ({ id: 'cred_1' }),
  createCredential: async () => ({ id: 'cred_1' }),
}));

const project: Project = { id: 'proj_1', name: 'Acme Cloud', environment: 'test', mode: 'b2b' };
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const acme = { id: 'org_acme', name: 'Acme', slug: 'acme' };
const other: MembershipSummary = { organization: { id: 'org_o', name: 'Other', slug: 'other' }, role: 'member', status: 'active' };

const session = (n: number, active: typeof acme | null, memberships: MembershipSummary[]) =>
  sessionAnswer(n, memberships, active ? { organization: active, role: 'member', status: 'active' } : null);
const signedIn = session(1, null, [other]);
const inAcme = session(2, acme, [other, { organization: acme, role: 'member', status: 'active' }]);
const err = (status: number, code: string): Answer => [status, { error: { code, message: code } }];
const accepted: Answer = [200, { invitation: {}, membership: { organization_id: 'org_acme', role: 'member' } }];

/** The app's part: it keeps the tokens the page signs in with. */
function Harness({ search }: { search: string }) {
  const [tokens, setTokens] = useState<Tokens | null>(null);
  return (
    <InvitationPage
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

function routes(accept: Route, switchOrg: Route, extra: Record<string, Route> = {}) {
  return stubApi({
    'GET /v1/invitations/by-code/inv_1': () => [
      200,
      {
        id: 'inv_id',
        email: 'ada@example.com',
        organization: acme,
        role: 'member',
        inviter: null,
        state: 'pending',
        expires_at: '2030-01-01T00:00:00Z',
      },
    ],
    'POST /v1/auth/passkeys/authentication/start': () => [200, { ceremony_id: 'cer_1', options: {} }],
    'POST /v1/auth/passkeys/authentication/finish': () => [200, signedIn],
    'POST /v1/invitations/accept': accept,
    'POST /v1/sessions/switch-org': switchOrg,
    'POST /v1/sessions/revoke': () => [204, undefined],
    ...extra,
  });
}

async function passkeySignIn(search = '?pk=pk_test_1&code=inv_1') {
  const m = mount(<Harness search={search} />);
  await click(await until(() => button('Sign in with a passkey')));
  return m;
}

const calls = (seen: { method: string; path: string }[]) => seen.map((s) => `${s.method} ${s.path}`);

afterEach(() => {
  vi.unstubAllGlobals();
  vi.mocked(leaveTo).mockReset();
  document.body.innerHTML = '';
});

describe('invitation, SSO sign-in (back through /hosted/sso)', () => {
  it('the redeemed sign-in is the form’s: accepted with its session and switched, as after a passkey', async () => {
    const seen = routes(
      (body) => (JSON.stringify(body) === '{"code":"inv_1"}' ? accepted : err(400, 'wrong_code')),
      () => [200, inAcme],
    );
    setPendingSignIn(signedIn);
    // Where /hosted/sso continues: the invitation's code came back as invitation_code.
    mount(<Harness search="?pk=pk_test_1&invitation_code=inv_1" />);
    await until(() => expect(heading()).toBe('You joined Acme'));
    expect(calls(seen).filter((c) => !c.startsWith('GET'))).toEqual([
      'POST /v1/invitations/accept',
      'POST /v1/sessions/switch-org',
    ]);
  });
});

describe('invitation, passkey sign-in', () => {
  it('accepted and switched: "You joined Acme"', async () => {
    const seen = routes(() => accepted, () => [200, inAcme]);
    await passkeySignIn();
    await until(() => expect(heading()).toBe('You joined Acme'));
    expect(calls(seen)).not.toContain('POST /v1/sessions/revoke');
  });

  it('a refused accept is shown, the session is ended, and the buttons work again', async () => {
    const seen = routes(() => err(403, 'invitation_email_mismatch'), () => [200, inAcme]);
    await passkeySignIn();
    await until(() =>
      expect(alerts()).toEqual(['This invitation is for another email address. Sign in with the address it was sent to.']),
    );
    expect(heading()).toBe('Join Acme');
    expect(button('Sign in with a passkey').disabled).toBe(false);
    expect(button('Email me a sign-in link').disabled).toBe(false);
    await until(() => expect(calls(seen)).toContain('POST /v1/sessions/revoke'));
    expect(calls(seen)).not.toContain('POST /v1/sessions/switch-org');
  });

  it('already a member (or accepted already): treated as accepted, and on into the organization', async () => {
    for (const code of ['already_member', 'invitation_accepted']) {
      const seen = routes(() => err(409, code), () => [200, inAcme]);
      const m = await passkeySignIn();
      await until(() => expect(heading()).toBe('You joined Acme'));
      expect(seen.find((s) => s.path === '/v1/sessions/switch-org')?.body).toEqual({ organization_id: 'org_acme' });
      expect(calls(seen)).not.toContain('POST /v1/sessions/revoke');
      m.unmount();
    }
  });

  it('accepted, but the organization asks for a step-up: the session stays, and the step-up prompt follows', async () => {
    let steppedUp = false;
    const seen = routes(
      () => accepted,
      () =>
        steppedUp ? [200, inAcme] : [403, { error: { code: 'step_up_required', message: 'x', details: { require_passkey: true } } }],
      {
        'POST /v1/sessions/step-up/passkey/start': () => [200, { ceremony_id: 'cer_2', options: {} }],
        'POST /v1/sessions/step-up/passkey/finish': () => {
          steppedUp = true;
          return [200, { session_id: 'sess_1', method: 'passkey', stepped_up_at: '2026-01-01T00:00:00Z' }];
        },
      },
    );
    await passkeySignIn();
    await until(() => expect(heading()).toBe('Confirm it’s you'));
    expect(document.activeElement).toBe(document.querySelector('h1'));
    expect(calls(seen)).not.toContain('POST /v1/sessions/revoke');
    expect(button('Sign out')).toBeTruthy();
    await click(button('Confirm with a passkey'));
    await until(() => expect(heading()).toBe('You joined Acme'));
    expect(calls(seen)).not.toContain('POST /v1/sessions/revoke');
  });

  it('accepted, the switch fails (network) and the app waits: Continue enters the organization and returns', async () => {
    let up = false;
    const seen = routes(
      () => accepted,
      () => (up ? [200, inAcme] : new Error('offline')),
      { 'POST /v1/auth/handoffs': () => [201, { code: 'hc_1', expires_at: '2030-01-01T00:00:00Z' }] },
    );
    await passkeySignIn(
      `?pk=pk_test_1&code=inv_1&redirect_url=${encodeURIComponent('http://localhost:3000/cb')}&code_challenge=${CHALLENGE}&state=s1`,
    );
    await until(() => expect(heading()).toBe('You joined Acme'));
    expect(calls(seen)).not.toContain('POST /v1/sessions/revoke');
    up = true;
    // Several memberships, but no chooser: the invitation's organization is entered.
    await click(button('Continue to localhost:3000'));
    await until(() => expect(leaveTo).toHaveBeenCalledWith('http://localhost:3000/cb?code=hc_1&state=s1'));
    expect(seen.filter((s) => s.path === '/v1/sessions/switch-org').map((s) => s.body)).toEqual([
      { organization_id: 'org_acme' },
      { organization_id: 'org_acme' },
    ]);
    // The handoff was made in the organization's context (the switch's token).
    expect(seen.find((s) => s.path === '/v1/auth/handoffs')?.authorization).toBe('Bearer at_2');
  });
});

describe('helpers', () => {
  it('acceptedAnyway: already_member and invitation_accepted only', () => {
    expect(acceptedAnyway(new ApiError(409, 'already_member', ''))).toBe(true);
    expect(acceptedAnyway(new ApiError(409, 'invitation_accepted', ''))).toBe(true);
    expect(acceptedAnyway(new ApiError(403, 'invitation_email_mismatch', ''))).toBe(false);
    expect(acceptedAnyway(new Error('already_member'))).toBe(false);
  });

  it('withMembership adds the organization once, active', () => {
    const m: MembershipSummary = { organization: acme, role: 'member', status: 'active' };
    expect(withMembership(signedIn, m).memberships).toEqual([other, m]);
    expect(withMembership(inAcme, m)).toBe(inAcme);
    const pending = { ...signedIn, memberships: [other, { ...m, status: 'pending' }] };
    expect(withMembership(pending, m).memberships).toEqual([other, m]);
    expect(withMembership({ ...signedIn, memberships: undefined }, m).memberships).toEqual([m]);
  });
});
