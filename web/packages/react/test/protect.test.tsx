import { act, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { OrganizationSwitcher, Protect, SignIn } from '../src/index.js';
import { world } from './world.js';

const gates = (
  <>
    <Protect permission="members:write" fallback={<p>no member admin</p>}>
      <p>member admin</p>
    </Protect>
    <Protect permission={['projects:read', 'billing:read']}>
      <p>billing</p>
    </Protect>
    <Protect role={['member', 'viewer']}>
      <p>member role</p>
    </Protect>
    <Protect>
      <p>signed in</p>
    </Protect>
  </>
);

const shown = (text: string) => screen.queryByText(text) !== null;

describe('Protect', () => {
  it('renders nothing gated, or the fallback, while signed out', () => {
    const w = world();
    w.renderApp(gates);
    expect(shown('member admin')).toBe(false);
    expect(shown('no member admin')).toBe(true);
    expect(shown('billing')).toBe(false);
    expect(shown('member role')).toBe(false);
    expect(shown('signed in')).toBe(false);
  });

  it("shows what the active context's permissions and role allow, and follows a switch", async () => {
    const w = world();
    await w.signInToAcme();
    w.renderApp(
      <>
        {gates}
        <OrganizationSwitcher />
      </>,
    );
    expect(shown('member admin')).toBe(true);
    expect(shown('no member admin')).toBe(false);
    expect(shown('billing')).toBe(true);
    expect(shown('member role')).toBe(false); // admin in Acme
    expect(shown('signed in')).toBe(true);

    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: /^Organization:/ }));
    await user.click(await screen.findByRole('menuitemradio', { name: 'Globex (member)' }));
    await waitFor(() => expect(shown('member role')).toBe(true));
    expect(shown('member admin')).toBe(false);
    expect(shown('no member admin')).toBe(true);
    expect(shown('billing')).toBe(false);
  });

  it("hides again when the active organization's context is dropped", async () => {
    const w = world();
    await w.signInToAcme();
    w.renderApp(gates);
    expect(shown('member admin')).toBe(true);
    w.server.deactivate(w.ada, w.acme);
    w.server.advance(301_000);
    await act(() => w.client.getToken());
    expect(shown('member admin')).toBe(false);
    expect(shown('no member admin')).toBe(true);
    expect(shown('signed in')).toBe(true); // still signed in, in no organization
  });

  it('shows the fallback until GET /v1/me tells the permissions, when the tokens carry none', async () => {
    const w = world();
    w.options.permissionsInTokens = false;
    await w.signInToAcme();
    const gate = w.server.hold('/v1/me');
    w.renderApp(gates);
    expect(shown('no member admin')).toBe(true);
    gate.release();
    await waitFor(() => expect(shown('member admin')).toBe(true));
  });
});

describe('accessible names', () => {
  it('every form control and menu item has a name', async () => {
    const w = world();
    await w.signInToAcme();
    w.renderApp(
      <>
        <SignIn passkey />
        <OrganizationSwitcher pendingInvitations={3} onShowInvitations={() => {}} />
      </>,
    );
    await userEvent.setup().click(screen.getByRole('button', { name: /^Organization:/ }));
    const roles = ['textbox', 'button', 'menu', 'menuitem', 'menuitemradio', 'form'] as const;
    const named: string[] = [];
    for (const role of roles) {
      // Testing Library's name is the computed accessible name: none may be empty.
      expect(screen.queryAllByRole(role, { name: '' }), role).toEqual([]);
      for (const el of screen.getAllByRole(role)) named.push(`${role}: ${el.getAttribute('aria-label') ?? el.textContent}`);
    }
    expect(named).toHaveLength(9);
    expect(screen.getByRole('textbox', { name: 'Email address' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Email me a sign-in link' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Sign in with a passkey' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Organization: Acme (admin), 3 pending invitations' })).toBeTruthy();
    expect(screen.getByRole('menu', { name: 'Organizations' })).toBeTruthy();
    expect(screen.getByRole('menuitemradio', { name: 'Acme (admin)' })).toBeTruthy();
    expect(screen.getByRole('menuitemradio', { name: 'Globex (member)' })).toBeTruthy();
    expect(screen.getByRole('menuitem', { name: 'Pending invitations (3)' })).toBeTruthy();
    expect(screen.getByRole('form', { name: 'Sign in' })).toBeTruthy();
  });
});
