// The pages' URLs. Everything a flow needs rides in the query string, so that it
// survives the round trip through a mailed link: the app's redirect parameters
// (`redirect_url`, `code_challenge`, `state`, optionally `organization` and
// `login_hint`) or an OAuth authorization request (`authorization`, from the server's
// /oauth2/authorize), the project's publishable key `pk`, an invitation's `code`, and on
// /hosted/magic-link the link's `token` and `from` (the page the flow started on).
import { isCodeChallenge } from './pkce';

/** The app's root path, as the binary serves it (Vite's `base`). */
export const BASE = '/hosted/';

export type PageName = 'home' | 'sign-in' | 'magic-link' | 'invitation' | 'org-admin' | 'sso';

/** A page that starts a sign-in, and where a magic link brings the user back to. */
export type Flow = 'sign-in' | 'invitation' | 'org-admin';

const PAGES: readonly PageName[] = ['sign-in', 'magic-link', 'invitation', 'org-admin', 'sso'];
const FLOWS: readonly Flow[] = ['sign-in', 'invitation', 'org-admin'];

/** The page a path names (`/hosted/sign-in`, trailing slash or not), `home` for the root, null for none. */
export function pageOf(pathname: string): PageName | null {
  const root = BASE.replace(/\/$/, '');
  if (pathname !== root && !pathname.startsWith(BASE)) return null;
  const name = pathname.slice(root.length).replace(/^\/+|\/+$/g, '');
  if (name === '') return 'home';
  return (PAGES as readonly string[]).includes(name) ? (name as PageName) : null;
}

/** Where to send the user back to, and the PKCE challenge the handoff code is bound to. */
export interface Handoff {
  redirectUrl: string;
  codeChallenge: string;
  /** The app's `state`, appended to the redirect untouched; null when it sent none. */
  state: string | null;
}

export interface Params {
  /** The project's publishable key (`pk_test_…` / `pk_live_…`). */
  pk: string | null;
  /** The app's redirect, when `redirect_url` and `code_challenge` are there and well formed. */
  handoff: Handoff | null;
  /**
   * An OAuth authorization request (`authorization`, opaque, signed by the server): the
   * server says where to return, so the app's redirect parameters are not read then.
   */
  authorization: string | null;
  /** What is wrong with the app's redirect parameters, when some are there but not right. */
  problem: string | null;
  /** An organization id the app asks for (`organization`): no chooser then. */
  organization: string | null;
  /** The email to prefill (`login_hint`). */
  loginHint: string | null;
  /** An invitation's code (`code`, or `invitation_code` as the server's invitation mail appends it). */
  invitationCode: string | null;
  /** A magic link's token (on /hosted/magic-link). */
  token: string | null;
  /** The page the flow started on (`from`; default sign-in). */
  flow: Flow;
}

function value(q: URLSearchParams, name: string): string | null {
  const v = q.get(name);
  return v === null || v.trim() === '' ? null : v.trim();
}

/**
 * A magic link's `token`: the LAST one in the query. The server appends its own token
 * to the link's `redirect_url`, so an earlier `token=` can only be one a crafted
 * redirect_url carried (an attacker's, to sign the victim into the attacker's account).
 */
function lastToken(q: URLSearchParams): string | null {
  const v = q.getAll('token').at(-1);
  return v === undefined || v.trim() === '' ? null : v.trim();
}

/** Whether `url` is an absolute http(s) URL (what the server can allow as a redirect). */
export function isHttpUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** An authorization request as the server writes it: URL-safe characters and dots, not only dots (a path segment). */
export function isAuthorizationRequest(request: string): boolean {
  return /^[A-Za-z0-9._~-]+$/.test(request) && !/^\.+$/.test(request);
}

export function parseParams(search: string): Params {
  const q = new URLSearchParams(search);
  const authorization = value(q, 'authorization');
  const redirectUrl = authorization === null ? value(q, 'redirect_url') : null;
  const challenge = authorization === null ? value(q, 'code_challenge') : null;
  const method = value(q, 'code_challenge_method');
  let problem: string | null = null;
  if (authorization !== null && !isAuthorizationRequest(authorization)) {
    problem = 'authorization is not a valid sign-in request.';
  } else if (redirectUrl !== null || challenge !== null) {
    if (redirectUrl === null) problem = 'redirect_url is missing.';
    else if (!isHttpUrl(redirectUrl)) problem = 'redirect_url is not an absolute http(s) URL.';
    else if (challenge === null) problem = 'code_challenge is missing.';
    else if (!isCodeChallenge(challenge)) problem = 'code_challenge must be 43 base64url characters (an S256 challenge).';
    else if (method !== null && method !== 'S256') problem = 'Only code_challenge_method=S256 is supported.';
  }
  const handoff =
    problem === null && redirectUrl !== null && challenge !== null
      ? { redirectUrl, codeChallenge: challenge, state: q.get('state') }
      : null;
  const from = value(q, 'from');
  return {
    pk: value(q, 'pk'),
    handoff,
    authorization: problem === null ? authorization : null,
    problem,
    organization: value(q, 'organization'),
    loginHint: value(q, 'login_hint'),
    invitationCode: value(q, 'code') ?? value(q, 'invitation_code'),
    token: lastToken(q),
    flow: from !== null && (FLOWS as readonly string[]).includes(from) ? (from as Flow) : 'sign-in',
  };
}

/** `search` without the named parameters, as `?…` (or `''` when nothing is left). */
export function withoutParams(search: string, names: readonly string[]): string {
  const q = new URLSearchParams(search);
  for (const n of names) q.delete(n);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * The `redirect_url` of a magic link sent from page `flow`: this app's /magic-link on
 * `origin`, carrying the page's whole query (so the app's redirect parameters and the
 * invitation code survive the email round trip) and `from`. The server appends
 * `&token=…`.
 */
export function magicLinkUrl(origin: string, search: string, flow: Flow): string {
  const q = new URLSearchParams(withoutParams(search, ['token', 'from']));
  if (flow !== 'sign-in') q.set('from', flow);
  const s = q.toString();
  return `${origin}${BASE}magic-link${s ? `?${s}` : ''}`;
}

/** Where a verified magic link continues: the page the flow started on, its query without `token` and `from`. */
export function afterMagicLink(search: string): string {
  const { flow } = parseParams(search);
  return `${BASE}${flow}${withoutParams(search, ['token', 'from'])}`;
}

/** A page of this app with the given query (e.g. "sign in instead" from an invitation). */
export function pageUrl(page: Flow, search: string, drop: readonly string[] = []): string {
  return `${BASE}${page}${withoutParams(search, drop)}`;
}

/** Whether the server's handoff answer carries a handoff code (`hc_…`), the only thing ever appended to the app's URL. */
export function isHandoffCode(code: unknown): code is string {
  return typeof code === 'string' && code.startsWith('hc_') && code.length > 3;
}

/** The app's redirect URL with the handoff `code` and, when the app sent one, its `state`. */
export function returnUrl(handoff: Handoff, code: string): string {
  const u = new URL(handoff.redirectUrl);
  u.searchParams.set('code', code);
  if (handoff.state !== null) u.searchParams.set('state', handoff.state);
  return u.toString();
}

/**
 * Where the browser signs in through an organization's SSO connection for the app's
 * handoff: the server's /v1/auth/sso/start with this page's own parameters. The server
 * sends the browser to the organization's identity provider, and from there straight
 * back to the app's `redirect_url` with a handoff code (or `error=sso_failed`) and the
 * app's `state`; the app redeems the code with its verifier, as for these pages' codes.
 */
export function ssoStartUrl(pk: string, connectionId: string, handoff: Handoff): string {
  const q = new URLSearchParams({
    pk,
    connection: connectionId,
    redirect_url: handoff.redirectUrl,
    code_challenge: handoff.codeChallenge,
  });
  if (handoff.state !== null) q.set('state', handoff.state);
  return `/v1/auth/sso/start?${q}`;
}

/** The host (and port) of the app a handoff returns to, for "Returning to …". */
export function appHost(handoff: Handoff): string {
  try {
    return new URL(handoff.redirectUrl).host;
  } catch {
    return handoff.redirectUrl;
  }
}

/**
 * Whether an OAuth answer's `redirect_to` (authorize or deny) is the request's own
 * `redirect_uri` (the same scheme, host and path) carrying `param` (`code`, or `error`):
 * the only kind of URL the page leaves to in an OAuth flow.
 */
export function isRedirectFor(redirectTo: unknown, redirectUri: string, param: 'code' | 'error'): redirectTo is string {
  if (typeof redirectTo !== 'string') return false;
  try {
    const to = new URL(redirectTo);
    const uri = new URL(redirectUri);
    return (
      to.protocol === uri.protocol &&
      to.host === uri.host &&
      to.pathname === uri.pathname &&
      (to.searchParams.get(param) ?? '') !== ''
    );
  } catch {
    return false;
  }
}

/** Where an OAuth client returns the user, for people: the origin of an http(s) redirect URI, else its scheme. */
export function redirectOrigin(redirectUri: string): string {
  try {
    const u = new URL(redirectUri);
    return u.origin !== 'null' ? u.origin : u.protocol.replace(/:$/, '');
  } catch {
    return redirectUri;
  }
}
