// A fake Authio for the client's tests: a `fetch` that answers the end-user routes the
// way /work/shared/API.md describes them, with sessions, per-organization contexts,
// rotating single-use refresh tokens (reuse revokes the whole session), membership
// deactivation cutting one context, and strict request bodies (like the server's
// `deny_unknown_fields`). Also the shared browser pieces two "tabs" use: an in-memory
// storage and a Web Locks stand-in.
import type { LocksLike, StorageLike } from '../src/index.js';

export const BASE_URL = 'https://auth.example.test';
export const PUBLISHABLE_KEY = 'pk_test_fake';
export const ACCESS_TTL_S = 300;

interface Org {
  id: string;
  name: string;
  slug: string;
}
interface User {
  id: string;
  email: string;
}
interface Membership {
  role: string;
  active: boolean;
}
interface Context {
  epoch: number;
  open: boolean;
  createdAt: string;
  lastRefreshedAt: string;
}
interface TokenInfo {
  sid: string;
  ctx: string;
  epoch: number;
}
export interface AccessInfo extends TokenInfo {
  exp: number;
}
export interface Recorded {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: unknown;
}

class HttpError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
  ) {}
}

/** A promise with its resolve, for holding requests at a gate. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** base64url of bytes or of a string's UTF-8 (written here again, independent of the SDK's). */
export function b64u(data: string | Uint8Array): string {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
function unb64u(text: string): string {
  return atob(text.replace(/-/g, '+').replace(/_/g, '/'));
}

export class FakeAuthio {
  /** The clock shared by the server and the clients, in ms. */
  time = Date.UTC(2030, 0, 1);
  readonly now = () => this.time;
  readonly requests: Recorded[] = [];
  /** Mail sent by `POST /v1/auth/magic-links`, newest last. */
  readonly mail: { email: string; url: string; token: string }[] = [];

  private seq = 0;
  private readonly orgs = new Map<string, Org>();
  private readonly users = new Map<string, User>();
  private readonly memberships = new Map<string, Membership>();
  private readonly lastActive = new Map<string, string>();
  private readonly sessions = new Map<string, { userId: string; revoked: boolean }>();
  private readonly contexts = new Map<string, Context>();
  private readonly refreshTokens = new Map<string, TokenInfo & { spent: boolean }>();
  private readonly accessTokens = new Map<string, AccessInfo>();
  private readonly oneTime = new Map<string, { purpose: string; subject: string }>();
  private readonly ceremonies = new Set<string>();
  private readonly passkeys = new Map<string, string>();
  private readonly gates = new Map<string, { promise: Promise<void>; resolve: () => void }>();

  private id(prefix: string) {
    return `${prefix}${(++this.seq).toString().padStart(4, '0')}`;
  }

  advance(ms: number) {
    this.time += ms;
  }

  // ---- test setup ----------------------------------------------------------------------

  addOrg(name: string): Org {
    const org = { id: this.id('org_'), name, slug: name.toLowerCase().replace(/\W+/g, '-') };
    this.orgs.set(org.id, org);
    return org;
  }

  addUser(email: string, memberships: [Org, string][] = []): User {
    const user = { id: this.id('user_'), email };
    this.users.set(email, user);
    for (const [org, role] of memberships) this.memberships.set(`${user.id}|${org.id}`, { role, active: true });
    return user;
  }

  /** `POST /v1/memberships/{id}/deactivate`: the membership's contexts are cut at once. */
  deactivate(user: User, org: Org) {
    const m = this.memberships.get(`${user.id}|${org.id}`);
    if (!m) throw new Error('no such membership');
    m.active = false;
    for (const [key, c] of this.contexts) if (key.endsWith(`|${org.id}`) && this.sessions.get(key.split('|')[0]!)?.userId === user.id) c.open = false;
  }

  /** `POST /v1/sign-in-tokens` (secret key). */
  signInToken(user: User): string {
    const token = this.id('sit_');
    this.oneTime.set(token, { purpose: 'sign_in_token', subject: user.id });
    return token;
  }

  /** A passkey the fake authenticator holds for `user` (credential id as bytes). */
  addPasskey(user: User, credentialId: Uint8Array) {
    this.passkeys.set(b64u(credentialId), user.id);
  }

  /** Holds requests to `path` until `release()`; `arrived()` counts those that came. */
  hold(path: string) {
    const gate = deferred();
    this.gates.set(path, gate);
    return {
      release: () => {
        this.gates.delete(path);
        gate.resolve();
      },
    };
  }

  calls(path: string): Recorded[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** What the server knows of an access token (its context, session, expiry). */
  access(token: string): AccessInfo | undefined {
    return this.accessTokens.get(token);
  }

  /** The organization an access token acts in (`act_org`), `null` for none. */
  actOrg(token: string): string | null {
    const info = this.accessTokens.get(token);
    if (!info) throw new Error('unknown access token');
    return info.ctx === 'none' ? null : info.ctx;
  }

  sessionRevoked(sid: string): boolean {
    return this.sessions.get(sid)?.revoked ?? false;
  }

  // ---- fetch ---------------------------------------------------------------------------

  readonly fetch = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const u = new URL(url);
    if (u.origin !== BASE_URL) throw new TypeError(`fetch failed: no server at ${u.origin}`);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => (headers[k] = v));
    const body = typeof init.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    const method = init.method ?? 'GET';
    this.requests.push({ method, path: u.pathname, query: u.search, headers, body });
    // Answer asynchronously, as a network would, and wait at a gate if one is set.
    await Promise.resolve();
    const gate = this.gates.get(u.pathname);
    if (gate) await gate.promise;
    const requestId = this.id('req_');
    try {
      const [status, answer] = this.route(method, u, headers, body);
      if (status === 204) return new Response(null, { status, headers: { 'x-request-id': requestId } });
      return new Response(JSON.stringify(answer), {
        status,
        headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      });
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      return new Response(JSON.stringify({ error: { code: e.code, message: e.message } }), {
        status: e.status,
        headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      });
    }
  };

  private route(method: string, u: URL, h: Record<string, string>, body: unknown): [number, unknown] {
    const p = u.pathname;
    const route = `${method} ${p}`;
    if (p.startsWith('/v1/auth/') && !p.startsWith('/v1/auth/passkeys/registration/')) {
      if (h['authio-publishable-key'] !== PUBLISHABLE_KEY) throw new HttpError(401, 'unauthenticated', 'publishable key required');
    }
    switch (route) {
      case 'POST /v1/auth/magic-links': {
        const b = fields(body, ['email'], ['redirect_url']);
        const token = this.id('ml_');
        this.oneTime.set(token, { purpose: 'magic_link', subject: String(b.email) });
        const base = typeof b.redirect_url === 'string' ? b.redirect_url : `${BASE_URL}/magic-link`;
        this.mail.push({ email: String(b.email), token, url: `${base}${base.includes('?') ? '&' : '?'}token=${token}` });
        return [202, { accepted: true }];
      }
      case 'POST /v1/auth/magic-links/verify': {
        const b = fields(body, ['token'], ['invitation_code']);
        const email = this.consume('magic_link', String(b.token));
        const user = this.users.get(email) ?? this.addUser(email);
        return [200, this.start(user)];
      }
      case 'POST /v1/auth/sign-in-tokens/verify': {
        const b = fields(body, ['token'], []);
        const userId = this.consume('sign_in_token', String(b.token));
        return [200, this.start(this.userById(userId))];
      }
      case 'POST /v1/auth/passkeys/authentication/start': {
        fields(body, [], []);
        const ceremony = this.id('cer_');
        this.ceremonies.add(ceremony);
        return [200, { ceremony_id: ceremony, options: { challenge: b64u(`challenge-${ceremony}`), rpId: 'localhost', allowCredentials: [], userVerification: 'required', timeout: 300000 } }];
      }
      case 'POST /v1/auth/passkeys/authentication/finish': {
        const b = fields(body, ['ceremony_id', 'credential'], []);
        if (!this.ceremonies.delete(String(b.ceremony_id))) throw new HttpError(401, 'invalid_ceremony', 'unknown ceremony');
        const c = b.credential as { rawId?: unknown; response?: Record<string, unknown> };
        for (const f of ['clientDataJSON', 'authenticatorData', 'signature']) {
          if (typeof c.response?.[f] !== 'string' || !/^[A-Za-z0-9_-]+$/.test(c.response[f] as string)) {
            throw new HttpError(400, 'invalid_request', `credential.response.${f} must be base64url`);
          }
        }
        const client = JSON.parse(unb64u(c.response!.clientDataJSON as string)) as { challenge: string };
        if (client.challenge !== b64u(`challenge-${b.ceremony_id}`)) throw new HttpError(401, 'passkey_invalid', 'challenge mismatch');
        const userId = this.passkeys.get(String(c.rawId));
        if (!userId) throw new HttpError(401, 'passkey_invalid', 'unknown credential');
        return [200, this.start(this.userById(userId))];
      }
      case 'POST /v1/auth/passkeys/registration/start': {
        const who = this.bearer(h);
        if (body !== undefined) fields(body, [], []);
        const user = this.userById(this.sessions.get(who.sid)!.userId);
        const ceremony = this.id('cer_');
        this.ceremonies.add(ceremony);
        const exclude = [...this.passkeys].filter(([, u]) => u === user.id).map(([id]) => ({ type: 'public-key', id }));
        return [200, { ceremony_id: ceremony, options: { challenge: b64u(`challenge-${ceremony}`), rp: { id: 'localhost', name: 'Fake' }, user: { id: b64u(`handle-${user.id}`), name: user.email, displayName: '' }, pubKeyCredParams: [{ type: 'public-key', alg: -8 }], excludeCredentials: exclude, authenticatorSelection: { residentKey: 'required', userVerification: 'required' } } }];
      }
      case 'POST /v1/auth/passkeys/registration/finish': {
        const who = this.bearer(h);
        const b = fields(body, ['ceremony_id', 'credential'], []);
        if (!this.ceremonies.delete(String(b.ceremony_id))) throw new HttpError(401, 'invalid_ceremony', 'unknown ceremony');
        const c = b.credential as { rawId?: unknown; response?: Record<string, unknown> };
        for (const f of ['clientDataJSON', 'attestationObject']) {
          if (typeof c.response?.[f] !== 'string' || !/^[A-Za-z0-9_-]+$/.test(c.response[f] as string)) {
            throw new HttpError(400, 'invalid_request', `credential.response.${f} must be base64url`);
          }
        }
        const userId = this.sessions.get(who.sid)!.userId;
        this.passkeys.set(String(c.rawId), userId);
        return [201, { id: String(c.rawId), user_id: userId, created_at: this.iso(), last_used_at: null }];
      }
      case 'POST /v1/sessions/switch-org': {
        const who = this.bearer(h);
        const b = fields(body, ['organization_id'], []);
        const org = String(b.organization_id);
        const userId = this.sessions.get(who.sid)!.userId;
        if (!this.memberships.get(`${userId}|${org}`)?.active) throw new HttpError(403, 'not_a_member', 'no active membership there');
        const key = `${who.sid}|${org}`;
        let c = this.contexts.get(key);
        if (!c || !c.open) {
          c = { epoch: (c?.epoch ?? 0) + 1, open: true, createdAt: this.iso(), lastRefreshedAt: this.iso() };
          this.contexts.set(key, c);
        }
        this.lastActive.set(userId, org);
        return [200, this.pair(who.sid, org, this.include(u))];
      }
      case 'POST /v1/sessions/refresh': {
        const include = this.include(u);
        const b = fields(body, ['refresh_token'], []);
        const t = this.refreshTokens.get(String(b.refresh_token));
        if (!t) throw new HttpError(401, 'unauthenticated', 'unknown refresh token');
        const s = this.sessions.get(t.sid)!;
        if (t.spent) {
          s.revoked = true;
          throw new HttpError(401, 'refresh_token_reused', 'a spent refresh token was presented; the session is revoked');
        }
        if (s.revoked) throw new HttpError(401, 'unauthenticated', 'the session is revoked');
        const c = this.contexts.get(`${t.sid}|${t.ctx}`)!;
        if (t.ctx !== 'none' && !this.memberships.get(`${s.userId}|${t.ctx}`)?.active) {
          throw new HttpError(403, 'not_a_member', 'the membership is not active');
        }
        if (!c.open || c.epoch !== t.epoch) throw new HttpError(401, 'unauthenticated', 'the context is closed');
        t.spent = true;
        c.lastRefreshedAt = this.iso();
        return [200, this.pair(t.sid, t.ctx === 'none' ? null : t.ctx, include)];
      }
      case 'POST /v1/sessions/revoke': {
        const who = this.bearer(h);
        this.sessions.get(who.sid)!.revoked = true;
        return [204, null];
      }
      case 'GET /v1/sessions/current': {
        const who = this.bearer(h);
        const contexts = [...this.contexts]
          .filter(([k, c]) => k.startsWith(`${who.sid}|`) && c.open)
          .map(([k, c]) => {
            const ctx = k.split('|')[1]!;
            const org = ctx === 'none' ? null : this.orgs.get(ctx)!;
            const userId = this.sessions.get(who.sid)!.userId;
            return {
              organization: org && { id: org.id, name: org.name, role: this.memberships.get(`${userId}|${org.id}`)!.role },
              created_at: c.createdAt,
              last_refreshed_at: c.lastRefreshedAt,
            };
          });
        return [200, { session_id: who.sid, contexts }];
      }
      case 'GET /v1/me': {
        const who = this.bearer(h);
        const user = this.userById(this.sessions.get(who.sid)!.userId);
        return [200, { user: { ...user, first_name: null, last_name: null }, session_id: who.sid, active_organization: this.active(user.id, who.ctx === 'none' ? null : who.ctx), memberships: this.membershipsOf(user.id) }];
      }
    }
    const revoke = /^\/v1\/sessions\/contexts\/([^/]+)\/revoke$/.exec(p);
    if (method === 'POST' && revoke) {
      const who = this.bearer(h);
      const c = this.contexts.get(`${who.sid}|${decodeURIComponent(revoke[1]!)}`);
      if (!c || !c.open) throw new HttpError(404, 'not_found', 'no such open context');
      c.open = false;
      return [204, null];
    }
    throw new HttpError(404, 'not_found', `no route ${route}`);
  }

  // ---- server logic --------------------------------------------------------------------

  private iso() {
    return new Date(this.time).toISOString();
  }

  private include(u: URL): boolean {
    const v = u.searchParams.get('include');
    if (v === null || v === 'memberships') return true;
    if (v === '') return false;
    throw new HttpError(400, 'invalid_request', 'include must be `memberships` or empty');
  }

  private userById(id: string): User {
    const user = [...this.users.values()].find((x) => x.id === id);
    if (!user) throw new HttpError(401, 'unauthenticated', 'no such user');
    return user;
  }

  private consume(purpose: string, token: string): string {
    const t = this.oneTime.get(token);
    if (!t || t.purpose !== purpose) throw new HttpError(401, 'invalid_token', 'the token is unknown, expired or already used');
    this.oneTime.delete(token);
    return t.subject;
  }

  private bearer(h: Record<string, string>): AccessInfo {
    const token = /^Bearer (.+)$/.exec(h.authorization ?? '')?.[1];
    const info = token ? this.accessTokens.get(token) : undefined;
    if (!info || info.exp <= this.time) throw new HttpError(401, 'unauthenticated', 'missing or invalid access token');
    const s = this.sessions.get(info.sid)!;
    const c = this.contexts.get(`${info.sid}|${info.ctx}`);
    const cut = info.ctx !== 'none' && !this.memberships.get(`${s.userId}|${info.ctx}`)?.active;
    if (s.revoked || !c || !c.open || c.epoch !== info.epoch || cut) throw new HttpError(401, 'unauthenticated', 'the token is no longer valid');
    return info;
  }

  private membershipsOf(userId: string) {
    return [...this.memberships]
      .filter(([k]) => k.startsWith(`${userId}|`))
      .map(([k, m]) => ({ organization: this.orgs.get(k.split('|')[1]!)!, role: m.role, status: m.active ? 'active' : 'inactive' }));
  }

  private active(userId: string, org: string | null) {
    if (!org) return null;
    const o = this.orgs.get(org)!;
    return { ...o, role: this.memberships.get(`${userId}|${org}`)!.role, permissions: [] };
  }

  /** A sign-in: a new session, opened in the last active organization, else the only one. */
  private start(user: User) {
    const sid = this.id('sess_');
    this.sessions.set(sid, { userId: user.id, revoked: false });
    const active = this.membershipsOf(user.id).filter((m) => m.status === 'active');
    const last = this.lastActive.get(user.id);
    const org = last && active.some((m) => m.organization.id === last) ? last : active.length === 1 ? active[0]!.organization.id : null;
    this.contexts.set(`${sid}|${org ?? 'none'}`, { epoch: 1, open: true, createdAt: this.iso(), lastRefreshedAt: this.iso() });
    return this.pair(sid, org, true);
  }

  /** A new token pair for a context, as a session answer. */
  private pair(sid: string, org: string | null, include: boolean) {
    const ctx = org ?? 'none';
    const epoch = this.contexts.get(`${sid}|${ctx}`)!.epoch;
    const access = this.id('at_');
    const refresh = `rt_${this.id('fam_')}.${this.id('secret')}`;
    this.accessTokens.set(access, { sid, ctx, epoch, exp: this.time + ACCESS_TTL_S * 1000 });
    this.refreshTokens.set(refresh, { sid, ctx, epoch, spent: false });
    const userId = this.sessions.get(sid)!.userId;
    const user = this.userById(userId);
    const answer: Record<string, unknown> = {
      access_token: access,
      refresh_token: refresh,
      token_type: 'Bearer',
      expires_in: ACCESS_TTL_S,
      session_id: sid,
      user: { id: user.id, email: user.email },
      active_organization: this.active(userId, org),
    };
    if (include) answer.memberships = this.membershipsOf(userId);
    return answer;
  }
}

/** The body as an object with exactly these fields (like the server's `deny_unknown_fields`). */
function fields(body: unknown, required: string[], optional: string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'invalid_request', 'a JSON object is required');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!required.includes(k) && !optional.includes(k)) throw new HttpError(400, 'invalid_request', `unknown field ${k}`);
  }
  for (const k of required) if (b[k] === undefined) throw new HttpError(400, 'invalid_request', `missing field ${k}`);
  return b;
}

/** localStorage's behaviour, in memory; one instance is shared by the tabs of a test. */
export class MemoryStorage implements StorageLike {
  readonly items = new Map<string, string>();
  getItem(k: string) {
    return this.items.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.items.set(k, v);
  }
  removeItem(k: string) {
    this.items.delete(k);
  }
  get length() {
    return this.items.size;
  }
  key(i: number) {
    return [...this.items.keys()][i] ?? null;
  }
}

/** navigator.locks, exclusive mode: callbacks for one name run one after another, across the tabs sharing it. */
export class FakeLocks implements LocksLike {
  readonly requested: string[] = [];
  private readonly tails = new Map<string, Promise<unknown>>();
  request<T>(name: string, callback: (lock: unknown) => Promise<T>): Promise<T> {
    this.requested.push(name);
    const run = (this.tails.get(name) ?? Promise.resolve()).then(() => callback({ name, mode: 'exclusive' }));
    this.tails.set(
      name,
      run.catch(() => undefined),
    );
    return run;
  }
}

/** Lets pending promise callbacks and fetches run (bounded; not a timed sleep). */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
