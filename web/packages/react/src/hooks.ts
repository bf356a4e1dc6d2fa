import type { ActiveOrganization, AuthioClient, CachedContext, Me, MembershipSummary, SignedIn, UserRef } from '@authio/js';
import { useCallback, useContext, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { StoreContext } from './provider.js';
import { toError, type AuthioSnapshot, type AuthioStore, type DroppedContext } from './store.js';

function useStore(): AuthioStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('@authio/react: this hook needs an <AuthioProvider> above it');
  return store;
}

function useSnapshot(store: AuthioStore): AuthioSnapshot {
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getServerSnapshot);
}

/** The snapshot, with GET /v1/me loaded for the current session and organization when `wanted`. */
function useMe(wanted = true): AuthioSnapshot {
  const store = useStore();
  const snap = useSnapshot(store);
  useEffect(() => {
    if (wanted) store.loadMe();
  }, [store, wanted, snap.meKey]);
  return snap;
}

/** The provider's client (for calls the hooks do not wrap: `getToken`, `registerPasskey`, …). */
export function useAuthio(): AuthioClient {
  return useStore().client;
}

export interface UseSession {
  /** False only during the hydration of server-rendered HTML (nothing is known on the server). */
  isLoaded: boolean;
  /** Whether this browser holds at least one context of a session. */
  isSignedIn: boolean;
  sessionId: string | null;
  /** `{id, email}` from the session answer (no request needed); `useUser()` has the profile. */
  user: UserRef | null;
  /** The organization of this tab's context; `null` for none, a dropped context, or signed out. */
  organizationId: string | null;
  /** This tab's context as cached (organization, role, permissions, expiry); `null` when it has none. */
  context: CachedContext | null;
  /** Every context this browser holds for the session. */
  contexts: readonly CachedContext[];
  /** This tab's context that was dropped (`contextDropped`), with the API's code; cleared by a switch or sign-in. */
  dropped: DroppedContext | null;
  /** `client.signOut()`; the state follows its `signedOut` event. */
  signOut: () => Promise<void>;
  /** Reads the client's cache again: after calling the client directly in a way that emits no event. */
  refresh: () => void;
}

/** Signed in or not, the session id, and this tab's organization context. */
export function useSession(): UseSession {
  const store = useStore();
  const { session, dropped } = useSnapshot(store);
  return useMemo(
    () => ({
      isLoaded: session.isLoaded,
      isSignedIn: session.isSignedIn,
      sessionId: session.sessionId,
      user: session.user,
      organizationId: session.organizationId,
      context: session.context,
      contexts: session.contexts,
      dropped,
      signOut: () => store.client.signOut(),
      refresh: store.refresh,
    }),
    [store, session, dropped],
  );
}

export interface UseUser {
  /** GET /v1/me's user (`id`, `email`, `first_name`, `last_name`); `null` when signed out or not loaded yet. */
  user: Me['user'] | null;
  /** The whole GET /v1/me answer for this tab's context. */
  me: Me | null;
  /** True while signed in and the answer for the current session and organization has not come yet. */
  isLoading: boolean;
  /** Why the last load failed (an AuthioError); `null` otherwise. */
  error: Error | null;
  /** Loads GET /v1/me again. */
  reload: () => void;
}

/** The signed-in user, from GET /v1/me (loaded once per session and organization, shared by every hook). */
export function useUser(): UseUser {
  const store = useStore();
  const { session, me, meKey } = useMe();
  return useMemo(() => {
    const data = session.isSignedIn && me.data?.session_id === session.sessionId ? me.data : null;
    return {
      user: data?.user ?? null,
      me: data,
      isLoading: session.isSignedIn && (me.key !== meKey || me.isLoading),
      error: me.key === meKey ? me.error : null,
      reload: store.reloadMe,
    };
  }, [store, session, me, meKey]);
}

/** One of the user's organizations, with the user's role and membership status there. */
export interface OrganizationMembership {
  id: string;
  name: string;
  slug: string;
  role: string;
  /** `active`, `pending` (invited), `inactive` (deactivated). */
  status: string;
  /** Whether it is this tab's organization. */
  isActive: boolean;
}

export interface UseOrganizations {
  /** The organizations the user can work in (active memberships), in the API's order. */
  organizations: OrganizationMembership[];
  /** Memberships waiting for the user to accept an invitation (`pending`). */
  invitations: OrganizationMembership[];
  /** Every membership, whatever its status. */
  memberships: OrganizationMembership[];
  /** True until GET /v1/me answered (a sign-in or switch answer, or the cache, stands in meanwhile). */
  isLoading: boolean;
  error: Error | null;
}

/**
 * The user's memberships, with organization name and role: GET /v1/me's; until it
 * answers, those of the last sign-in or switch answer, else the cached contexts' organizations.
 */
export function useOrganizations(): UseOrganizations {
  const { session, me, meKey, answerMemberships } = useMe();
  return useMemo(() => {
    const current = session.isSignedIn && me.data?.session_id === session.sessionId ? me.data : null;
    const fresh = current !== null && me.key === meKey && !me.isLoading;
    let source: readonly MembershipSummary[] = [];
    if (current) source = current.memberships;
    else if (answerMemberships && session.isSignedIn) source = answerMemberships;
    else {
      source = session.contexts.flatMap((c) =>
        c.organization
          ? [{ organization: { id: c.organization.id, name: c.organization.name, slug: c.organization.slug }, role: c.organization.role, status: 'active' }]
          : [],
      );
    }
    const memberships = source.map(
      (m): OrganizationMembership => ({
        id: m.organization.id,
        name: m.organization.name,
        slug: m.organization.slug,
        role: m.role,
        status: m.status,
        isActive: m.organization.id === session.organizationId,
      }),
    );
    return {
      organizations: memberships.filter((m) => m.status === 'active'),
      invitations: memberships.filter((m) => m.status === 'pending'),
      memberships,
      isLoading: session.isSignedIn && !fresh,
      error: me.key === meKey ? me.error : null,
    };
  }, [session, me, meKey, answerMemberships]);
}

export interface UseActiveOrganization {
  /** This tab's organization with the user's role and permissions there; `null` when it has none. */
  organization: ActiveOrganization | null;
  organizationId: string | null;
  /** A switch is in flight (see `useSwitchOrganization`). */
  isSwitching: boolean;
  /** The tab's context that was dropped, if that is why there is no organization. */
  dropped: DroppedContext | null;
}

/** This tab's active organization (from the cache: no request). */
export function useActiveOrganization(): UseActiveOrganization {
  const { session, switching, dropped } = useSnapshot(useStore());
  const isSwitching = switching.pendingOrganizationId !== null;
  return useMemo(
    () => ({ organization: session.organization, organizationId: session.organizationId, isSwitching, dropped }),
    [session, isSwitching, dropped],
  );
}

export interface UseSwitchOrganization {
  /**
   * Enters an organization's context and makes it this tab's. Resolves to the switch's
   * answer, or `null` when it failed (then `error` says why); it never rejects.
   */
  switchOrganization: (organizationId: string) => Promise<SignedIn | null>;
  isPending: boolean;
  /** The organization being entered, while `isPending`. */
  pendingOrganizationId: string | null;
  /** Why the last switch failed (an AuthioError: `not_a_member`, `network_error`, …). */
  error: Error | null;
}

/** A function to switch this tab's organization, with the switch's pending and error state. */
export function useSwitchOrganization(): UseSwitchOrganization {
  const store = useStore();
  const { switching } = useSnapshot(store);
  return useMemo(
    () => ({
      switchOrganization: store.switchOrganization,
      isPending: switching.pendingOrganizationId !== null,
      pendingOrganizationId: switching.pendingOrganizationId,
      error: switching.error,
    }),
    [store, switching],
  );
}

export interface UsePermissions {
  /** The permissions of the user's role in this tab's organization (sorted, as the token carries them). */
  permissions: readonly string[];
  role: string | null;
  organizationId: string | null;
  /** False while they are not known yet (then every `has` answers false). */
  isLoaded: boolean;
  /** Whether the context has this permission, or every one of these. */
  has: (permission: string | readonly string[]) => boolean;
}

const NONE: readonly string[] = [];

/**
 * The permissions of this tab's organization context. They come from the session
 * answer that issued the context's access token (the same list as the token's
 * `permissions` claim, renewed with each refresh), else from GET /v1/me.
 */
export function usePermissions(): UsePermissions {
  const store = useStore();
  const peek = useSnapshot(store).session;
  // GET /v1/me is needed only when the cached context carries no permissions.
  const cached = peek.organization?.permissions;
  const { session, me, meKey } = useMe(peek.organization !== null && cached === undefined);
  let permissions: readonly string[] | undefined;
  if (!session.isSignedIn || session.organization === null) permissions = NONE;
  else if (session.organization.permissions) permissions = session.organization.permissions;
  else if (me.key === meKey && me.data?.active_organization?.id === session.organizationId) {
    permissions = me.data.active_organization.permissions ?? NONE;
  }
  const list = permissions ?? NONE;
  const has = useCallback(
    (p: string | readonly string[]) => (typeof p === 'string' ? list.includes(p) : p.every((x) => list.includes(x))),
    [list],
  );
  return {
    permissions: list,
    role: session.organization?.role ?? null,
    organizationId: session.organizationId,
    isLoaded: permissions !== undefined,
    has,
  };
}

export interface UseVerifyMagicLink {
  /** True from the first render with a token until the verification answered. */
  isPending: boolean;
  /** The sign-in answer once verified (the provider follows the `signedIn` event). */
  answer: SignedIn | null;
  /** Why it failed: an AuthioError, e.g. `invalid_token` for a used or expired link. */
  error: Error | null;
}

/**
 * For the page a magic link leads to: verifies its token (once per token, also under
 * StrictMode), e.g. `useVerifyMagicLink(new URL(location.href).searchParams.get('token'))`.
 * `null` or `undefined` does nothing.
 */
export function useVerifyMagicLink(
  token: string | null | undefined,
  options: { invitationCode?: string | undefined } = {},
): UseVerifyMagicLink {
  const store = useStore();
  const [state, setState] = useState<{ token: string; answer: SignedIn | null; error: Error | null } | null>(null);
  const { invitationCode } = options;
  useEffect(() => {
    if (!token) return;
    let live = true;
    store.verifyMagicLink(token, invitationCode).then(
      (answer) => live && setState({ token, answer, error: null }),
      (e: unknown) => live && setState({ token, answer: null, error: toError(e) }),
    );
    return () => {
      live = false;
    };
  }, [store, token, invitationCode]);
  const done = state !== null && state.token === token;
  return { isPending: !!token && !done, answer: done ? state.answer : null, error: done ? state.error : null };
}
