import { AuthioError } from './errors.js';
import { digest, Journal } from './journal.js';
import { defaultStorage, type StorageLike } from './storage.js';
import type {
  ActiveOrganization,
  CeremonyStart,
  Me,
  Passkey,
  SessionAnswer,
  SessionContexts,
  SignedIn,
  UserRef,
} from './types.js';
import { credentialJson, creationOptions, requestOptions, type CredentialLike } from './webauthn.js';

/** The one method of the Web Locks API (`navigator.locks`) the client uses. */
export interface LocksLike {
  request<T>(name: string, callback: (lock: unknown) => Promise<T>): Promise<T>;
}

/** What `navigator.credentials` offers for passkeys. */
export interface CredentialsLike {
  get(options: CredentialRequestOptions): Promise<unknown>;
  create(options: CredentialCreationOptions): Promise<unknown>;
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface AuthioOptions {
  /** Where Authio answers, e.g. `https://auth.example.com` (no trailing `/v1`). */
  baseUrl: string;
  /** The project's publishable key (`pk_test_…` / `pk_live_…`). */
  publishableKey: string;
  /** Where token sets are kept. Default: `localStorage` (shared by the origin's tabs), else memory. */
  storage?: StorageLike | undefined;
  /** Default: `globalThis.fetch`. */
  fetch?: FetchLike | undefined;
  /**
   * Cross-tab mutual exclusion for refreshes. Default: `navigator.locks` when present.
   * `null` turns it off: refreshes are then single-flight within this tab only.
   */
  locks?: LocksLike | null | undefined;
  /**
   * Where the refresh-lock holders record the refresh tokens they replaced, so that the
   * next holder never presents one its view of `localStorage` still shows (see journal.ts).
   * Default: `indexedDB` when the storage is `localStorage` and Web Locks are on. `null`
   * turns it off.
   */
  indexedDB?: IDBFactory | null | undefined;
  /** Clock in milliseconds. Default: `Date.now`. */
  now?: (() => number) | undefined;
  /** Default: `navigator.credentials` (passkeys only). */
  credentials?: CredentialsLike | undefined;
}

/** One organization context's cached token set, as `cachedContexts()` shows it (no tokens). */
export interface CachedContext {
  /** `null` for the "no organization" context. */
  organizationId: string | null;
  organization: ActiveOrganization | null;
  /** When the cached access token expires, in milliseconds by the client's clock. */
  expiresAt: number;
  sessionId: string;
  user: UserRef;
}

interface Stored extends CachedContext {
  accessToken: string;
  refreshToken: string;
}

export interface AuthioEvents {
  /** A sign-in stored a new session (every earlier context was dropped from storage). */
  signedIn: { sessionId: string; userId: string; organizationId: string | null };
  /** A context's token pair was rotated by this tab. */
  tokenRefreshed: { organizationId: string | null; expiresAt: number };
  /**
   * A context was removed from the cache: its refresh answered 401/403 (`code` is the
   * API's, e.g. `not_a_member`, `unauthenticated`, `step_up_required`), or
   * `revokeContext` closed it (`code` is `context_revoked`), or its stored refresh token
   * was spent by a tab that never stored the successor (`refresh_token_spent`).
   */
  contextDropped: { organizationId: string | null; code: string };
  /** Every context was dropped: `signOut()`, or a refresh answered `refresh_token_reused`. */
  signedOut: { reason: 'signed_out' | 'refresh_token_reused' };
}

export type AuthioEvent = keyof AuthioEvents;
export type Unsubscribe = () => void;

export interface GetTokenOptions {
  /** The context: an organization id, `null` for "no organization". Default: this tab's current one. */
  organizationId?: string | null | undefined;
  /** Rotate even if the cached access token is still valid (e.g. after the API refused it). */
  forceRefresh?: boolean | undefined;
}

/** Cached access tokens are used while they have more than this left. */
const MIN_VALIDITY_MS = 30_000;
/** The key of the "no organization" context (also the API's path segment for it). */
const NO_ORG = 'none';
const LOCK_PREFIX = 'authio:refresh:';
/**
 * How long a lock holder waits for `localStorage` to stop showing a refresh token that the
 * journal says was replaced (the successor normally shows within milliseconds).
 */
const SETTLE_MS = 3_000;
/** The wait re-reads storage on every `storage` event, and at least this often. */
const SETTLE_POLL_MS = 25;

const keyOf = (organizationId: string | null): string => organizationId ?? NO_ORG;
const orgOf = (key: string): string | null => (key === NO_ORG ? null : key);
const unauthenticated = () => new AuthioError(401, 'unauthenticated', 'not signed in (no usable context in this browser)');

function strip(a: SessionAnswer): SignedIn {
  const out: SignedIn = { session_id: a.session_id, user: a.user, active_organization: a.active_organization ?? null };
  if (a.memberships) out.memberships = a.memberships;
  return out;
}

export class AuthioClient {
  /** Where Authio answers, without a trailing slash (the hosted pages live under it). */
  readonly baseUrl: string;
  readonly publishableKey: string;
  private readonly storage: StorageLike;
  private readonly fetchFn: FetchLike;
  private readonly locks: LocksLike | null;
  private readonly journal: Journal | null;
  private readonly now: () => number;
  private readonly credentialsOption: CredentialsLike | undefined;
  private readonly prefix: string;
  /** This tab's current context key; other tabs have their own. */
  private current: string | undefined;
  /** One refresh in flight per context key, in this tab. */
  private readonly inflight = new Map<string, Promise<Stored | null>>();
  private readonly listeners = new Map<string, Set<(payload: never) => void>>();

  constructor(options: AuthioOptions) {
    if (!options.baseUrl || !options.publishableKey) {
      throw new TypeError('createAuthio: baseUrl and publishableKey are required');
    }
    const g = globalThis as { navigator?: { locks?: LocksLike; credentials?: CredentialsLike } };
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.publishableKey = options.publishableKey;
    this.storage = options.storage ?? defaultStorage();
    this.fetchFn = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.locks = options.locks === undefined ? (g.navigator?.locks ?? null) : options.locks;
    let idb = options.indexedDB;
    if (idb === undefined) {
      try {
        const w = globalThis as { localStorage?: unknown; indexedDB?: IDBFactory };
        idb = w.localStorage !== undefined && this.storage === w.localStorage ? (w.indexedDB ?? null) : null;
      } catch {
        idb = null; // a sandboxed frame: touching localStorage or indexedDB throws
      }
    }
    // Only lock holders hand over; without Web Locks there is no hand-over to guard.
    this.journal = idb && this.locks ? new Journal(idb) : null;
    this.now = options.now ?? Date.now;
    this.credentialsOption = options.credentials;
    this.prefix = `authio:${options.publishableKey}:`;
  }

  // ---- sign-in ------------------------------------------------------------------------

  /** Mail a sign-in link (`POST /v1/auth/magic-links`); its URL is `redirectUrl` plus `token=…`. */
  async sendMagicLink(email: string, options: { redirectUrl?: string | undefined } = {}): Promise<void> {
    const body: Record<string, string> = { email };
    if (options.redirectUrl !== undefined) body.redirect_url = options.redirectUrl;
    await this.call('POST', '/v1/auth/magic-links', { body, publishable: true });
  }

  /** Exchange a magic link's token for a session (`POST /v1/auth/magic-links/verify`). */
  async verifyMagicLink(token: string, options: { invitationCode?: string | undefined } = {}): Promise<SignedIn> {
    const body: Record<string, string> = { token };
    if (options.invitationCode !== undefined) body.invitation_code = options.invitationCode;
    return this.signedIn(await this.call<SessionAnswer>('POST', '/v1/auth/magic-links/verify', { body, publishable: true }));
  }

  /** Exchange a sign-in token from the project's backend (`POST /v1/auth/sign-in-tokens/verify`). */
  async verifySignInToken(token: string): Promise<SignedIn> {
    return this.signedIn(
      await this.call<SessionAnswer>('POST', '/v1/auth/sign-in-tokens/verify', { body: { token }, publishable: true }),
    );
  }

  /** Trade a hosted sign-in's handoff code and PKCE verifier for a session (`POST /v1/auth/handoffs/exchange`); see `handleRedirectCallback`. */
  async exchangeHandoff(code: string, codeVerifier: string): Promise<SignedIn> {
    const body = { code, code_verifier: codeVerifier };
    return this.signedIn(await this.call<SessionAnswer>('POST', '/v1/auth/handoffs/exchange', { body, publishable: true }));
  }

  /** Start a passkey sign-in: the ceremony id and the options for `navigator.credentials.get`. */
  async startPasskeySignIn(): Promise<{ ceremonyId: string; options: PublicKeyCredentialRequestOptions }> {
    const start = await this.call<CeremonyStart>('POST', '/v1/auth/passkeys/authentication/start', {
      body: {},
      publishable: true,
    });
    return { ceremonyId: start.ceremony_id, options: requestOptions(start.options) };
  }

  /** Finish a passkey sign-in with the browser's credential (or its `toJSON()` form). */
  async finishPasskeySignIn(ceremonyId: string, credential: CredentialLike | object): Promise<SignedIn> {
    const body = { ceremony_id: ceremonyId, credential: toCredentialJson(credential) };
    return this.signedIn(
      await this.call<SessionAnswer>('POST', '/v1/auth/passkeys/authentication/finish', { body, publishable: true }),
    );
  }

  /** Sign in with a passkey: start, `navigator.credentials.get`, finish. */
  async signInWithPasskey(
    options: { mediation?: CredentialMediationRequirement; signal?: AbortSignal } = {},
  ): Promise<SignedIn> {
    const { ceremonyId, options: publicKey } = await this.startPasskeySignIn();
    const request: CredentialRequestOptions = { publicKey };
    if (options.mediation) request.mediation = options.mediation;
    if (options.signal) request.signal = options.signal;
    const credential = await browserCeremony(() => this.credentials().get(request));
    return this.finishPasskeySignIn(ceremonyId, credential as object);
  }

  /** Register a passkey for the signed-in user (registration start, `navigator.credentials.create`, finish). */
  async registerPasskey(options: { signal?: AbortSignal } = {}): Promise<Passkey> {
    const token = await this.sessionToken();
    const start = await this.call<CeremonyStart>('POST', '/v1/auth/passkeys/registration/start', { token });
    const request: CredentialCreationOptions = { publicKey: creationOptions(start.options) };
    if (options.signal) request.signal = options.signal;
    const credential = await browserCeremony(() => this.credentials().create(request));
    return this.call<Passkey>('POST', '/v1/auth/passkeys/registration/finish', {
      token,
      body: { ceremony_id: start.ceremony_id, credential: toCredentialJson(credential) },
    });
  }

  // ---- tokens and contexts ------------------------------------------------------------

  /** This tab's current organization context: an id, `null` for "no organization", `undefined` before any. */
  get organizationId(): string | null | undefined {
    const key = this.currentKey();
    return key === undefined ? undefined : orgOf(key);
  }

  /**
   * An access token for one organization context: the cached one while it has more than
   * 30 s left, else that context's refresh token is rotated (once, whatever the number of
   * callers and tabs asking). `null` when this browser holds no such context, or when
   * the context was just dropped (see the `contextDropped` and `signedOut` events).
   * Throws an AuthioError for other failures (network, 5xx, 429); the context is kept.
   */
  async getToken(options: GetTokenOptions = {}): Promise<string | null> {
    const key = options.organizationId === undefined ? this.currentKey() : keyOf(options.organizationId);
    if (key === undefined) return null;
    const seen = this.read(key);
    if (!seen) return null;
    if (!options.forceRefresh && this.fresh(seen)) return seen.accessToken;
    const next = await this.refresh(key, seen, options.forceRefresh === true);
    return next ? next.accessToken : null;
  }

  /**
   * Enter an organization's context (`POST /v1/sessions/switch-org`) and make it this
   * tab's current one. Other contexts, and so other tabs, keep their tokens.
   */
  async switchOrganization(organizationId: string): Promise<SignedIn> {
    const token = await this.sessionToken();
    const key = keyOf(organizationId);
    const answer = await this.exclusive(key, async () => {
      const a = await this.call<SessionAnswer>('POST', '/v1/sessions/switch-org', {
        token,
        body: { organization_id: organizationId },
      });
      const next = this.toStored(a, organizationId);
      // The pair this replaces (a family the server keeps) is journaled like a rotated one,
      // so the next lock holder waits for this pair instead of acting on the old one.
      const old = this.read(key);
      if (old && this.journal) await this.journal.add(this.ctxKey(key), old.refreshToken);
      this.write(key, next);
      return a;
    });
    this.select(key);
    return strip(answer);
  }

  /** The contexts this browser holds tokens for (no tokens shown). */
  cachedContexts(): CachedContext[] {
    return this.keys('ctx:').flatMap((k) => {
      const s = this.read(k);
      return s
        ? [{ organizationId: s.organizationId, organization: s.organization, expiresAt: s.expiresAt, sessionId: s.sessionId, user: s.user }]
        : [];
    });
  }

  /** The session's live contexts as the server sees them (`GET /v1/sessions/current`). */
  async listContexts(): Promise<SessionContexts> {
    return this.call<SessionContexts>('GET', '/v1/sessions/current', { token: await this.sessionToken() });
  }

  /** The user, the context's active organization and the user's memberships (`GET /v1/me`). */
  async getUser(options: { organizationId?: string | null | undefined } = {}): Promise<Me> {
    const token =
      options.organizationId === undefined ? await this.sessionToken() : await this.getToken(options);
    if (!token) throw unauthenticated();
    return this.call<Me>('GET', '/v1/me', { token });
  }

  /**
   * Close one organization context of the session (`POST /v1/sessions/contexts/{id}/revoke`;
   * `null` is the "no organization" context) and drop it from the cache. The others go on.
   */
  async revokeContext(organizationId: string | null): Promise<void> {
    const key = keyOf(organizationId);
    const token = await this.sessionToken();
    try {
      await this.call('POST', `/v1/sessions/contexts/${encodeURIComponent(key)}/revoke`, { token });
    } catch (e) {
      // 404: the context is not open (any more); the cache should forget it all the same.
      if (!(e instanceof AuthioError && e.status === 404)) throw e;
    }
    this.storage.removeItem(this.prefix + 'ctx:' + key);
    this.emit('contextDropped', { organizationId, code: 'context_revoked' });
  }

  /**
   * Sign out (`POST /v1/sessions/revoke`: every context of the session ends) and clear
   * the cache. The cache is cleared even when the request fails; the error is rethrown
   * then (except a 401: the session was over already).
   */
  async signOut(): Promise<void> {
    let failure: unknown;
    try {
      const token = await this.sessionToken().catch(() => null);
      if (token) await this.call('POST', '/v1/sessions/revoke', { token });
    } catch (e) {
      if (!(e instanceof AuthioError && e.status === 401)) failure = e;
    }
    this.clear();
    this.emit('signedOut', { reason: 'signed_out' });
    if (failure !== undefined) throw failure;
  }

  // ---- events -------------------------------------------------------------------------

  /** Listen to an event of this tab's client; returns the function that stops listening. */
  on<E extends AuthioEvent>(event: E, listener: (payload: AuthioEvents[E]) => void): Unsubscribe {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    const l = listener as (payload: never) => void;
    set.add(l);
    return () => void set.delete(l);
  }

  private emit<E extends AuthioEvent>(event: E, payload: AuthioEvents[E]): void {
    for (const l of [...(this.listeners.get(event) ?? [])]) {
      try {
        (l as (p: AuthioEvents[E]) => void)(payload);
      } catch (e) {
        // A listener's failure must not break the client's flow; report it like an uncaught error.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  // ---- refresh ------------------------------------------------------------------------

  private refresh(key: string, seen: Stored, force: boolean): Promise<Stored | null> {
    let p = this.inflight.get(key);
    if (!p) {
      p = this.exclusive(key, () => this.refreshExclusive(key, seen, force)).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /** Runs `fn` holding the context's cross-tab lock (or directly, without Web Locks). */
  private exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.locks ? this.locks.request(LOCK_PREFIX + key, () => fn()) : fn();
  }

  /** Under the lock: another tab may have rotated the pair already; use its result then. */
  private async refreshExclusive(key: string, seen: Stored, force: boolean): Promise<Stored | null> {
    const cur = this.journal ? await this.settled(this.journal, key) : this.read(key);
    if (!cur) return null;
    if (this.fresh(cur) && (!force || cur.refreshToken !== seen.refreshToken)) return cur;
    let answer: SessionAnswer;
    try {
      answer = await this.call<SessionAnswer>('POST', '/v1/sessions/refresh?include=', {
        body: { refresh_token: cur.refreshToken },
      });
    } catch (e) {
      if (!(e instanceof AuthioError && (e.status === 401 || e.status === 403))) throw e;
      if (e.code === 'refresh_token_reused') {
        // The server revoked the whole session: every context is dead.
        this.clear();
        this.emit('signedOut', { reason: 'refresh_token_reused' });
      } else {
        if (this.read(key)?.refreshToken === cur.refreshToken) this.storage.removeItem(this.prefix + 'ctx:' + key);
        this.emit('contextDropped', { organizationId: orgOf(key), code: e.code });
      }
      return null;
    }
    const next = this.toStored(answer, orgOf(key));
    // The server spent cur's refresh token: journaled (committed) before its successor is
    // stored, and so before the lock is released and the next holder looks.
    if (this.journal) await this.journal.add(this.ctxKey(key), cur.refreshToken);
    // A sign-out or a new sign-in while the answer was on its way cleared or replaced
    // this context: the answer belongs to what is gone and is not written back.
    if (this.read(key)?.refreshToken !== cur.refreshToken) return this.read(key);
    this.write(key, next);
    this.emit('tokenRefreshed', { organizationId: orgOf(key), expiresAt: next.expiresAt });
    return next;
  }

  /**
   * Under the lock: the context's entry once this tab's view of `localStorage` has caught
   * up with the previous lock holders, i.e. shows no refresh token the journal says they
   * replaced (journal.ts says why the view can lag, and why the journal cannot). If it still
   * shows one after SETTLE_MS, the tab that replaced it never stored the successor (closed
   * in between, or its write failed): that token is spent, so the context is dropped
   * (`contextDropped` with `refresh_token_spent`) rather than presented and the whole
   * session revoked.
   */
  private async settled(journal: Journal, key: string): Promise<Stored | null> {
    const replaced = await journal.replaced(this.ctxKey(key));
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      const s = this.read(key);
      if (!s || !replaced.has(digest(s.refreshToken))) return s;
      if (Date.now() >= deadline) {
        this.storage.removeItem(this.ctxKey(key));
        this.emit('contextDropped', { organizationId: orgOf(key), code: 'refresh_token_spent' });
        return null;
      }
      await storageChange(SETTLE_POLL_MS);
    }
  }

  // ---- the cache ----------------------------------------------------------------------

  private fresh(s: Stored): boolean {
    return s.expiresAt - this.now() > MIN_VALIDITY_MS;
  }

  private currentKey(): string | undefined {
    // A tab that has not chosen a context yet takes the one chosen last in any tab, and keeps it.
    return (this.current ??= this.storage.getItem(this.prefix + 'last') ?? undefined);
  }

  private select(key: string): void {
    this.current = key;
    this.storage.setItem(this.prefix + 'last', key);
  }

  /** Any valid access token of the session: this tab's context first, then the others. */
  private async sessionToken(): Promise<string> {
    const current = this.currentKey();
    const keys = this.keys('ctx:');
    const order = current === undefined ? keys : [current, ...keys.filter((k) => k !== current)];
    for (const key of order) {
      const token = await this.getToken({ organizationId: orgOf(key) });
      if (token) return token;
    }
    throw unauthenticated();
  }

  private signedIn(answer: SessionAnswer): SignedIn {
    const stored = this.toStored(answer);
    const key = keyOf(stored.organizationId);
    // A new session replaces whatever this browser held (possibly another user's).
    this.clear();
    this.write(key, stored);
    this.select(key);
    this.emit('signedIn', { sessionId: stored.sessionId, userId: stored.user.id, organizationId: stored.organizationId });
    return strip(answer);
  }

  private toStored(a: SessionAnswer, organizationId?: string | null): Stored {
    if (!a || typeof a.access_token !== 'string' || typeof a.refresh_token !== 'string' || typeof a.expires_in !== 'number') {
      throw new AuthioError(0, 'invalid_response', 'the session answer lacks its tokens');
    }
    const organization = a.active_organization ?? null;
    return {
      organizationId: organizationId === undefined ? (organization?.id ?? null) : organizationId,
      organization,
      expiresAt: this.now() + a.expires_in * 1000,
      sessionId: a.session_id,
      user: a.user,
      accessToken: a.access_token,
      refreshToken: a.refresh_token,
    };
  }

  /** The storage key of a context's token set. */
  private ctxKey(key: string): string {
    return this.prefix + 'ctx:' + key;
  }

  private read(key: string): Stored | null {
    const raw = this.storage.getItem(this.ctxKey(key));
    if (!raw) return null;
    try {
      const s = JSON.parse(raw) as Stored;
      return typeof s.accessToken === 'string' && typeof s.refreshToken === 'string' && typeof s.expiresAt === 'number'
        ? s
        : null;
    } catch {
      return null;
    }
  }

  private write(key: string, s: Stored): void {
    this.storage.setItem(this.prefix + 'ctx:' + key, JSON.stringify(s));
  }

  /** The keys under this client's prefix that start with `sub`, without the prefix and `sub`. */
  private keys(sub: string): string[] {
    const out: string[] = [];
    const start = this.prefix + sub;
    for (let i = 0; i < this.storage.length; i++) {
      const k = this.storage.key(i);
      if (k?.startsWith(start)) out.push(k.slice(start.length));
    }
    return out;
  }

  private clear(): void {
    for (const k of this.keys('')) this.storage.removeItem(this.prefix + k);
    this.current = undefined;
  }

  // ---- HTTP ---------------------------------------------------------------------------

  private async call<T = unknown>(
    method: string,
    path: string,
    o: { token?: string; body?: unknown; publishable?: boolean } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.publishable) headers['authio-publishable-key'] = this.publishableKey;
    let res: Response;
    try {
      res = await this.fetchFn(this.baseUrl + path, {
        method,
        headers,
        body: o.body === undefined ? null : JSON.stringify(o.body),
      });
    } catch (cause) {
      throw new AuthioError(0, 'network_error', `${method} ${path} got no answer: ${String((cause as Error)?.message ?? cause)}`, {
        cause,
      });
    }
    const requestId = res.headers.get('x-request-id') ?? undefined;
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!res.ok) {
      const err = (data as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
      const retry = res.headers.get('retry-after');
      throw new AuthioError(
        res.status,
        typeof err?.code === 'string' ? err.code : `http_${res.status}`,
        typeof err?.message === 'string' ? err.message : `${method} ${path} answered ${res.status}`,
        { details: err?.details, requestId, retryAfter: retry !== null && retry !== '' && !isNaN(+retry) ? +retry : undefined },
      );
    }
    if (text && data === undefined) {
      throw new AuthioError(res.status, 'invalid_response', `${method} ${path} answered something other than JSON`, {
        requestId,
      });
    }
    return data as T;
  }

  private credentials(): CredentialsLike {
    const c = this.credentialsOption ?? (globalThis as { navigator?: { credentials?: CredentialsLike } }).navigator?.credentials;
    if (!c) throw new AuthioError(0, 'passkeys_unavailable', 'this browser offers no WebAuthn (navigator.credentials)');
    return c;
  }
}

/** Resolves on the next `storage` event (another tab wrote `localStorage`), or after `ms`. */
function storageChange(ms: number): Promise<void> {
  const g = globalThis as Partial<Pick<Window, 'addEventListener' | 'removeEventListener'>>;
  return new Promise((done) => {
    const end = () => {
      clearTimeout(timer);
      g.removeEventListener?.('storage', end);
      done();
    };
    const timer = setTimeout(end, ms);
    g.addEventListener?.('storage', end);
  });
}

function toCredentialJson(credential: unknown): Record<string, unknown> {
  const c = credential as CredentialLike;
  return c && c.rawId instanceof ArrayBuffer ? credentialJson(c) : (credential as Record<string, unknown>);
}

/** Runs a browser WebAuthn call; a cancelled or timed-out one becomes `passkey_cancelled`. */
async function browserCeremony(run: () => Promise<unknown>): Promise<unknown> {
  let credential: unknown;
  try {
    credential = await run();
  } catch (e) {
    const name = (e as { name?: string })?.name;
    if (name === 'NotAllowedError' || name === 'AbortError') {
      throw new AuthioError(0, 'passkey_cancelled', 'no passkey was used (cancelled or timed out)', { cause: e });
    }
    throw e;
  }
  if (!credential) throw new AuthioError(0, 'passkey_cancelled', 'no passkey was used');
  return credential;
}
