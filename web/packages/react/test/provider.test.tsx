import { act, render, renderHook, screen, waitFor } from '@testing-library/react';
import { StrictMode, type ReactNode } from 'react';
import { describe, expect, it } from 'vitest';
import { BASE_URL, PUBLISHABLE_KEY } from '../../js/test/fake-server.js';
import {
  AuthioClient,
  AuthioProvider,
  SignedIn,
  SignedOut,
  memoryStorage,
  useActiveOrganization,
  useAuthio,
  useOrganizations,
  usePermissions,
  useSession,
  useSwitchOrganization,
  useUser,
} from '../src/index.js';
import { world } from './world.js';

/** Every hook at once, in one provider over `w`'s client. */
function hooks(w: ReturnType<typeof world>, props: { organizationId?: string } = {}, strict = false) {
  const wrapper = ({ children }: { children: ReactNode }) => {
    const app = (
      <AuthioProvider client={w.client} {...props}>
        {children}
      </AuthioProvider>
    );
    return strict ? <StrictMode>{app}</StrictMode> : app;
  };
  return renderHook(
    () => ({
      client: useAuthio(),
      session: useSession(),
      user: useUser(),
      orgs: useOrganizations(),
      active: useActiveOrganization(),
      switcher: useSwitchOrganization(),
      perms: usePermissions(),
    }),
    { wrapper },
  );
}

describe('AuthioProvider and hooks', () => {
  it('hooks outside a provider say what is missing', () => {
    expect(() => renderHook(() => useSession())).toThrow(/AuthioProvider/);
  });

  it('signed out: no session, no user, no request, no permissions', async () => {
    const w = world();
    const { result } = hooks(w);
    expect(result.current.client).toBe(w.client);
    expect(result.current.session).toMatchObject({ isSignedIn: false, sessionId: null, user: null, organizationId: null });
    expect(result.current.user).toMatchObject({ user: null, isLoading: false, error: null });
    expect(result.current.orgs.organizations).toEqual([]);
    expect(result.current.perms).toMatchObject({ permissions: [], isLoaded: true });
    expect(result.current.perms.has('projects:read')).toBe(false);
    await act(async () => {});
    expect(w.server.calls('/v1/me')).toHaveLength(0);
  });

  it('follows a sign-in (signedIn) and loads GET /v1/me once for every hook', async () => {
    const w = world();
    const { result } = hooks(w);
    const gate = w.server.hold('/v1/me');
    const signed = await act(() => w.signIn());
    expect(result.current.session).toMatchObject({
      isSignedIn: true,
      sessionId: signed.session_id,
      user: { email: 'ada@example.com' },
      organizationId: null, // two memberships and none used before: the "no organization" context
    });
    expect(result.current.user).toMatchObject({ isLoading: true, user: null });
    expect(result.current.orgs.isLoading).toBe(true);
    gate.release();
    await waitFor(() => expect(result.current.user.user?.email).toBe('ada@example.com'));
    expect(result.current.user).toMatchObject({ isLoading: false, error: null, user: { first_name: null } });
    expect(result.current.orgs.organizations.map((o) => [o.name, o.role, o.isActive])).toEqual([
      ['Acme', 'admin', false],
      ['Globex', 'member', false],
    ]);
    expect(w.server.calls('/v1/me')).toHaveLength(1);
  });

  it('works under StrictMode (effects run twice): events followed, one GET /v1/me', async () => {
    const w = world();
    const { result } = hooks(w, {}, true);
    await act(() => w.signInToAcme());
    expect(result.current.session.isSignedIn).toBe(true);
    await waitFor(() => expect(result.current.user.user).not.toBeNull());
    expect(w.server.calls('/v1/me')).toHaveLength(1);
    await act(() => w.client.signOut());
    expect(result.current.session.isSignedIn).toBe(false);
  });

  it('starts from the cache: a tab already signed in renders signed in at once', async () => {
    const w = world();
    await w.signInToAcme();
    const { result } = hooks(w);
    expect(result.current.session.isSignedIn).toBe(true);
    expect(result.current.active.organization).toMatchObject({ id: w.acme.id, name: 'Acme', role: 'admin' });
    expect(result.current.perms.has('members:write')).toBe(true);
    // Until GET /v1/me answers, the organizations come from the switch answer.
    await waitFor(() => expect(result.current.orgs.isLoading).toBe(false));
    expect(result.current.orgs.organizations.find((o) => o.isActive)?.name).toBe('Acme');
  });

  it('switching organization updates the active organization, role, permissions and /v1/me', async () => {
    const w = world();
    await w.signInToAcme();
    const { result } = hooks(w);
    await waitFor(() => expect(result.current.user.me?.active_organization?.id).toBe(w.acme.id));

    const gate = w.server.hold('/v1/sessions/switch-org');
    let done!: Promise<unknown>;
    act(() => void (done = result.current.switcher.switchOrganization(w.globex.id)));
    expect(result.current.switcher).toMatchObject({ isPending: true, pendingOrganizationId: w.globex.id });
    expect(result.current.active.isSwitching).toBe(true);
    gate.release();
    const answer = await act(() => done);

    expect(answer).toMatchObject({ active_organization: { id: w.globex.id } });
    expect(w.client.organizationId).toBe(w.globex.id);
    expect(result.current.switcher).toMatchObject({ isPending: false, error: null });
    expect(result.current.active.organization).toMatchObject({ id: w.globex.id, role: 'member' });
    expect(result.current.session.organizationId).toBe(w.globex.id);
    expect(result.current.perms.permissions).toEqual(['projects:read']);
    expect(result.current.perms.has('members:write')).toBe(false);
    expect(result.current.orgs.organizations.find((o) => o.isActive)?.name).toBe('Globex');
    await waitFor(() => expect(result.current.user.me?.active_organization?.id).toBe(w.globex.id));
  });

  it('a refused switch leaves the organization alone and says why', async () => {
    const w = world();
    await w.signInToAcme();
    const { result } = hooks(w);
    const answer = await act(() => result.current.switcher.switchOrganization(w.initech.id));
    expect(answer).toBeNull();
    expect(result.current.switcher.isPending).toBe(false);
    expect(result.current.switcher.error).toMatchObject({ status: 403, code: 'not_a_member' });
    expect(result.current.active.organization?.id).toBe(w.acme.id);
    // The next switch clears the error.
    await act(() => result.current.switcher.switchOrganization(w.globex.id));
    expect(result.current.switcher.error).toBeNull();
  });

  it('contextDropped of the active organization: no organization, no permissions, memberships reloaded', async () => {
    const w = world();
    await w.signInToAcme();
    await w.client.switchOrganization(w.globex.id);
    await w.client.switchOrganization(w.acme.id); // the tab works in Acme; Globex's context stays cached
    const { result } = hooks(w);
    await waitFor(() => expect(result.current.orgs.isLoading).toBe(false));
    expect(result.current.perms.has('members:write')).toBe(true);

    // An admin deactivates Ada in Acme; the tab's next refresh is refused.
    w.server.deactivate(w.ada, w.acme);
    w.server.advance(301_000);
    expect(await act(() => w.client.getToken())).toBeNull();

    expect(result.current.session).toMatchObject({
      isSignedIn: true, // Globex's context lives on
      organizationId: null,
      context: null,
      dropped: { organizationId: w.acme.id, code: 'not_a_member' },
    });
    expect(result.current.active).toMatchObject({ organization: null, dropped: { code: 'not_a_member' } });
    expect(result.current.perms).toMatchObject({ permissions: [], role: null });
    expect(result.current.perms.has('members:write')).toBe(false);
    await waitFor(() =>
      expect(result.current.orgs.memberships.map((m) => [m.name, m.status])).toEqual([
        ['Acme', 'inactive'],
        ['Globex', 'active'],
      ]),
    );
    expect(result.current.orgs.organizations.map((o) => o.name)).toEqual(['Globex']);

    // Switching to a live organization clears the drop.
    await act(() => result.current.switcher.switchOrganization(w.globex.id));
    expect(result.current.session.dropped).toBeNull();
    expect(result.current.active.organization?.name).toBe('Globex');
  });

  it("another organization's dropped context leaves the tab's alone", async () => {
    const w = world();
    await w.signInToAcme();
    await w.client.switchOrganization(w.globex.id);
    await w.client.switchOrganization(w.acme.id);
    const { result } = hooks(w);
    expect(result.current.session.contexts).toHaveLength(3); // none, Acme, Globex
    await act(() => w.client.revokeContext(w.globex.id));
    expect(result.current.session.contexts).toHaveLength(2);
    expect(result.current.session).toMatchObject({ organizationId: w.acme.id, dropped: null });
  });

  it('permissions follow a token refresh (tokenRefreshed)', async () => {
    const w = world();
    await w.signInToAcme();
    const { result } = hooks(w);
    expect(result.current.perms.has('audit:read')).toBe(false);
    w.permissions.admin!.push('audit:read'); // the role gains a permission on the server
    w.server.advance(301_000);
    await act(() => w.client.getToken());
    expect(result.current.perms.has('audit:read')).toBe(true);
    expect(result.current.perms.has(['audit:read', 'members:write'])).toBe(true);
    expect(result.current.perms.has(['audit:read', 'nope'])).toBe(false);
  });

  it('reads permissions from GET /v1/me when the session answers carry none', async () => {
    const w = world();
    w.options.permissionsInTokens = false;
    await w.signInToAcme();
    const { result } = hooks(w);
    expect(result.current.perms).toMatchObject({ isLoaded: false, role: 'admin' });
    expect(result.current.perms.has('members:write')).toBe(false);
    await waitFor(() => expect(result.current.perms.isLoaded).toBe(true));
    expect(result.current.perms.has('members:write')).toBe(true);
  });

  it('signOut (signedOut) clears the session and the user', async () => {
    const w = world();
    await w.signInToAcme();
    const { result } = hooks(w);
    await waitFor(() => expect(result.current.user.user).not.toBeNull());
    await act(() => result.current.session.signOut());
    expect(result.current.session).toMatchObject({ isSignedIn: false, sessionId: null, organizationId: null, contexts: [] });
    expect(result.current.user).toMatchObject({ user: null, me: null, isLoading: false });
    expect(result.current.orgs.organizations).toEqual([]);
    expect(result.current.perms.permissions).toEqual([]);
    expect(w.server.calls('/v1/sessions/revoke')).toHaveLength(1);
  });

  it("follows another tab's sign-out through the storage event", async () => {
    const w = world();
    await w.signInToAcme();
    const { result } = hooks(w);
    await waitFor(() => expect(result.current.user.user).not.toBeNull());
    await act(() => w.tab().signOut()); // another tab of the same browser
    expect(result.current.session.isSignedIn).toBe(true); // that tab's event is not this one's
    act(() => void window.dispatchEvent(new StorageEvent('storage', { key: `authio:${PUBLISHABLE_KEY}:last` })));
    expect(result.current.session.isSignedIn).toBe(false);
  });

  it('a GET /v1/me failure is reported, and reload() tries again', async () => {
    const w = world();
    await w.signInToAcme();
    w.options.meOffline = true;
    const { result } = hooks(w);
    await waitFor(() => expect(result.current.user.error).toMatchObject({ code: 'network_error' }));
    expect(result.current.user).toMatchObject({ isLoading: false, user: null });
    w.options.meOffline = false;
    const gate = w.server.hold('/v1/me');
    act(() => result.current.user.reload());
    expect(result.current.user).toMatchObject({ isLoading: true, user: null, error: null });
    gate.release();
    await waitFor(() => expect(result.current.user.user?.email).toBe('ada@example.com'));
    expect(result.current.user.error).toBeNull();
  });

  it('the organizationId prop enters that organization once signed in, and only once', async () => {
    const w = world();
    await w.signIn();
    const { result, rerender } = hooks(w, { organizationId: w.globex.id });
    await waitFor(() => expect(result.current.active.organization?.id).toBe(w.globex.id));
    expect(w.client.organizationId).toBe(w.globex.id);
    expect(w.server.calls('/v1/sessions/switch-org')).toHaveLength(1);

    rerender();
    await act(async () => {});
    expect(w.server.calls('/v1/sessions/switch-org')).toHaveLength(1);
  });

  it('a refused organizationId prop is not retried in a loop', async () => {
    const w = world();
    await w.signIn();
    const { result } = hooks(w, { organizationId: w.initech.id });
    await waitFor(() => expect(result.current.switcher.error).toMatchObject({ code: 'not_a_member' }));
    await act(async () => {});
    expect(w.server.calls('/v1/sessions/switch-org')).toHaveLength(1);
    expect(result.current.session.organizationId).toBeNull();
  });

  it('creates its own client from options; SignedIn and SignedOut follow the session', async () => {
    let client: AuthioClient | undefined;
    function Grab() {
      client = useAuthio();
      return null;
    }
    const w = world();
    render(
      <AuthioProvider options={{ baseUrl: BASE_URL, publishableKey: PUBLISHABLE_KEY, storage: memoryStorage(), fetch: w.server.fetch, locks: null }}>
        <Grab />
        <SignedIn>in</SignedIn>
        <SignedOut>out</SignedOut>
      </AuthioProvider>,
    );
    expect(client).toBeInstanceOf(AuthioClient);
    expect(screen.getByText('out')).toBeTruthy();
    expect(screen.queryByText('in')).toBeNull();
    await act(async () => {
      await client!.sendMagicLink(w.ada.email);
      await client!.verifyMagicLink(w.server.mail.at(-1)!.token);
    });
    expect(screen.getByText('in')).toBeTruthy();
    expect(screen.queryByText('out')).toBeNull();
  });
});
