// The provider's state: what the client's cache says about this tab's session, the
// GET /v1/me answer, and the organization switch in flight. A small external store
// (read with useSyncExternalStore), fed by the client's events.
import type { ActiveOrganization, AuthioClient, CachedContext, Me, MembershipSummary, SignedIn, UserRef } from '@authio/js';

/** What the client's cache says about this tab. */
export interface SessionState {
  /**
   * False only while React hydrates server-rendered HTML (the server cannot read the
   * browser's storage, so it renders as if nothing were known); true in the browser.
   */
  isLoaded: boolean;
  /** Whether this browser holds at least one context of a session. */
  isSignedIn: boolean;
  sessionId: string | null;
  user: UserRef | null;
  /**
   * The organization of this tab's context. `null` when the tab works in the "no
   * organization" context, when its context was dropped, or when signed out.
   */
  organizationId: string | null;
  /** The tab's organization with the user's role and permissions there, as its token carries them. */
  organization: ActiveOrganization | null;
  /** This tab's context in the cache; `null` when the tab has none (any more). */
  context: CachedContext | null;
  /** Every context the cache holds (one per organization the session entered in this browser). */
  contexts: readonly CachedContext[];
}

/** The tab's context that the client dropped (`contextDropped`): the API's code says why. */
export interface DroppedContext {
  organizationId: string | null;
  code: string;
}

export interface MeState {
  /** The session, organization and generation the answer is for (see `meKey`). */
  key: string | null;
  data: Me | null;
  error: Error | null;
  isLoading: boolean;
}

export interface SwitchState {
  /** The organization being entered, while a switch is in flight. */
  pendingOrganizationId: string | null;
  /** Why the last switch failed (an AuthioError, e.g. `not_a_member`); cleared by the next one. */
  error: Error | null;
}

export interface AuthioSnapshot {
  session: SessionState;
  dropped: DroppedContext | null;
  me: MeState;
  /** The key GET /v1/me should be loaded for now; `null` when signed out. */
  meKey: string | null;
  switching: SwitchState;
  /** The memberships of the last session answer seen through this provider (sign-in, switch). */
  answerMemberships: readonly MembershipSummary[] | null;
}

const UNKNOWN: SessionState = {
  isLoaded: false,
  isSignedIn: false,
  sessionId: null,
  user: null,
  organizationId: null,
  organization: null,
  context: null,
  contexts: [],
};
/** Magic-link verifications started, per client and token (shared by every provider of a client). */
const verifications = new WeakMap<AuthioClient, Map<string, Promise<SignedIn>>>();

const NO_ME: MeState = { key: null, data: null, error: null, isLoading: false };
const IDLE: SwitchState = { pendingOrganizationId: null, error: null };

export function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

function readSession(client: AuthioClient): SessionState {
  const contexts = client.cachedContexts();
  const tab = client.organizationId;
  const context = tab === undefined ? null : (contexts.find((c) => c.organizationId === tab) ?? null);
  const any = context ?? contexts[0] ?? null;
  return {
    isLoaded: true,
    isSignedIn: contexts.length > 0,
    sessionId: any?.sessionId ?? null,
    user: any?.user ?? null,
    organizationId: context?.organizationId ?? null,
    organization: context?.organization ?? null,
    context,
    contexts,
  };
}

/** What makes two reads differ for the UI (a new expiry alone does not). */
function signatureOf(client: AuthioClient, s: SessionState): string {
  return JSON.stringify([client.organizationId ?? '', s.contexts.map(({ expiresAt: _, ...rest }) => rest)]);
}

export class AuthioStore {
  private snapshot: AuthioSnapshot;
  private signature: string;
  private readonly listeners = new Set<() => void>();
  /** Bumped by events after which /v1/me may answer differently (sign-in, a dropped context, a reload). */
  private generation = 0;
  private switchSeq = 0;

  constructor(readonly client: AuthioClient) {
    const session = readSession(client);
    this.signature = signatureOf(client, session);
    this.snapshot = {
      session,
      dropped: null,
      me: NO_ME,
      meKey: this.meKeyOf(session),
      switching: IDLE,
      answerMemberships: null,
    };
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  };

  readonly getSnapshot = (): AuthioSnapshot => this.snapshot;

  /** What the server renders, and hydration starts from: nothing known yet. */
  readonly serverSnapshot: AuthioSnapshot = {
    session: UNKNOWN,
    dropped: null,
    me: NO_ME,
    meKey: null,
    switching: IDLE,
    answerMemberships: null,
  };
  readonly getServerSnapshot = (): AuthioSnapshot => this.serverSnapshot;

  /** Follows the client's events and other tabs' storage writes; returns the function that stops. */
  connect(): () => void {
    const c = this.client;
    const stops = [
      c.on('signedIn', () => {
        this.generation++;
        this.update({ dropped: null, answerMemberships: null, me: NO_ME });
      }),
      c.on('tokenRefreshed', () => this.update({})),
      c.on('contextDropped', (e) => {
        this.generation++;
        // The client keeps the tab on the dropped context (it then has no token): say so.
        this.update(e.organizationId === c.organizationId ? { dropped: e } : {});
      }),
      c.on('signedOut', () => {
        this.generation++;
        this.update({ dropped: null, answerMemberships: null, me: NO_ME, switching: IDLE });
      }),
    ];
    // Another tab signing in or out rewrites the shared storage; this tab's client only
    // notices on its next request, but the UI can follow at once.
    const w = typeof window === 'undefined' ? undefined : window;
    const onStorage = () => this.update({});
    w?.addEventListener('storage', onStorage);
    this.update({}); // whatever happened between the first render and now
    return () => {
      for (const stop of stops) stop();
      w?.removeEventListener('storage', onStorage);
    };
  }

  /** Reads the client's cache again (e.g. after calling the client directly). */
  readonly refresh = (): void => this.update({});

  /** Loads GET /v1/me for the current session and organization, unless loaded or loading already. */
  loadMe(): void {
    const { session, meKey, me } = this.snapshot;
    if (meKey === null || me.key === meKey) return;
    // The same session's previous answer stays visible while the new one loads.
    const kept = me.data && me.data.session_id === session.sessionId ? me.data : null;
    this.update({ me: { key: meKey, data: kept, error: null, isLoading: true } });
    const ctx = session.context;
    const request = ctx ? this.client.getUser({ organizationId: ctx.organizationId }) : this.client.getUser();
    request.then(
      (data) => this.settleMe(meKey, { key: meKey, data, error: null, isLoading: false }),
      (e: unknown) => this.settleMe(meKey, { key: meKey, data: kept, error: toError(e), isLoading: false }),
    );
  }

  /** Loads GET /v1/me again. */
  readonly reloadMe = (): void => {
    this.generation++;
    this.update({});
    this.loadMe();
  };

  /** Enters an organization's context; `null` when that failed (the error is in `switching`). */
  readonly switchOrganization = async (organizationId: string): Promise<SignedIn | null> => {
    const seq = ++this.switchSeq;
    this.update({ switching: { pendingOrganizationId: organizationId, error: null } });
    try {
      const answer = await this.client.switchOrganization(organizationId);
      // The client emits no event for a switch: read its cache again here.
      this.update({
        dropped: null,
        answerMemberships: answer.memberships ?? this.snapshot.answerMemberships,
        ...(seq === this.switchSeq ? { switching: IDLE } : {}),
      });
      return answer;
    } catch (e) {
      this.update(seq === this.switchSeq ? { switching: { pendingOrganizationId: null, error: toError(e) } } : {});
      return null;
    }
  };

  /**
   * Verifies a magic link's token once, whatever the number of callers (a token is
   * single-use; React may run an effect twice).
   */
  verifyMagicLink(token: string, invitationCode?: string): Promise<SignedIn> {
    let started = verifications.get(this.client);
    if (!started) verifications.set(this.client, (started = new Map()));
    let p = started.get(token);
    if (!p) {
      p = this.client.verifyMagicLink(token, invitationCode === undefined ? {} : { invitationCode });
      p.then((answer) => this.noteSignedIn(answer)).catch(() => undefined);
      started.set(token, p);
    }
    return p;
  }

  /** Keeps what a sign-in answer says that the cache does not (the memberships). */
  noteSignedIn(answer: SignedIn): void {
    this.update({ answerMemberships: answer.memberships ?? null });
  }

  private settleMe(key: string, me: MeState): void {
    // An answer for an older key (another session, organization or generation) is dropped.
    if (this.snapshot.me.key === key) this.update({ me });
  }

  private meKeyOf(s: SessionState): string | null {
    if (!s.isSignedIn) return null;
    return `${s.sessionId}|${s.organizationId ?? ''}|${s.organization?.role ?? ''}|${this.generation}`;
  }

  private update(patch: Partial<AuthioSnapshot>): void {
    const read = readSession(this.client);
    const signature = signatureOf(this.client, read);
    const changed = signature !== this.signature;
    const prev = this.snapshot;
    const session = changed ? read : prev.session;
    const meKey = this.meKeyOf(session);
    if (!changed && meKey === prev.meKey && Object.keys(patch).length === 0) return;
    this.signature = signature;
    const next: AuthioSnapshot = { ...prev, ...patch, session, meKey };
    if (!session.isSignedIn) next.me = NO_ME;
    this.snapshot = next;
    for (const l of [...this.listeners]) l();
  }
}
