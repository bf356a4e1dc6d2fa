// Sign-in through Authio's hosted pages: the app sends the user to
// `${baseUrl}/hosted/sign-in` with a PKCE challenge; the pages sign the user in, let
// them choose an organization (with a passkey step-up when its policy asks), and send
// them back to `redirectUrl` with a one-time `code` (bound to that session and
// organization context, valid 2 minutes) and the `state`. `handleRedirectCallback`
// checks the state and trades the code and the verifier for the session
// (`POST /v1/auth/handoffs/exchange`), which the client stores like any sign-in.
import type { AuthioClient } from './client.js';
import { AuthioError } from './errors.js';
import { toBase64url } from './base64url.js';
import type { StorageLike } from './storage.js';
import type { SignedIn } from './types.js';

/**
 * Where a pending sign-in waits between the two halves: one entry per state. The
 * default is `localStorage`, shared by the origin's tabs, because the magic link of the
 * hosted sign-in usually opens in a new tab, and the user comes back to the app there.
 * `length` and `key` let expired entries be swept (without them, entries are removed
 * only when used).
 */
export type RedirectStorage = Pick<StorageLike, 'getItem' | 'setItem' | 'removeItem'> &
  Partial<Pick<StorageLike, 'length' | 'key'>>;

/** How long a pending sign-in waits for its callback. */
export const PENDING_REDIRECT_MS = 15 * 60 * 1000;

export interface RedirectSignInOptions {
  /** Where the hosted pages send the user back to (an allowed redirect URL of the project). */
  redirectUrl: string;
  /** Enter this organization without asking (the hosted chooser is skipped). */
  organizationId?: string | undefined;
  /** An email to prefill. */
  loginHint?: string | undefined;
  /**
   * An invitation's code (`inv_…`, e.g. the `invitation_code` of the invitation link that
   * brought the user to the app): the hosted invitation page shows it, the sign-in
   * accepts it, and the user comes back like any sign-in.
   */
  invitationCode?: string | undefined;
  /** Opaque value handed back with the code; default: a random one. Checked by `handleRedirectCallback`. */
  state?: string | undefined;
  /** Where the verifier and state wait for the callback. Default: `localStorage` (any tab of this origin). */
  storage?: RedirectStorage | undefined;
  /** Default: `location.assign`. */
  navigate?: ((url: string) => void) | undefined;
}

export interface RedirectCallbackOptions {
  /** The storage `signInWithRedirect` used. Default: `localStorage`. */
  storage?: RedirectStorage | undefined;
}

/** What the callback gives back: the sign-in (as `verifyMagicLink` does) and the state. */
export type RedirectSignedIn = SignedIn & { state: string };

interface Pending {
  verifier: string;
  state: string;
  redirectUrl: string;
  /** Epoch milliseconds after which the entry is ignored and swept. */
  expiresAt: number;
}

const keyPrefix = (client: AuthioClient) => `authio:${client.publishableKey}:redirect:`;

function pendingStore(given: RedirectStorage | undefined): RedirectStorage {
  const s = given ?? (globalThis as { localStorage?: RedirectStorage }).localStorage;
  if (!s) throw new AuthioError(0, 'storage_unavailable', 'no localStorage: pass `storage`');
  return s;
}

function parsePending(raw: string | null): Pending | null {
  if (!raw) return null;
  try {
    const p = JSON.parse(raw) as Pending;
    return typeof p.verifier === 'string' && typeof p.state === 'string' && typeof p.expiresAt === 'number' ? p : null;
  } catch {
    return null;
  }
}

/** This client's pending entries (their keys), when the storage can list them. */
function pendingKeys(storage: RedirectStorage, prefix: string): string[] {
  const keys: string[] = [];
  if (typeof storage.length !== 'number' || typeof storage.key !== 'function') return keys;
  for (let i = 0; i < storage.length; i++) {
    const k = storage.key(i);
    if (k?.startsWith(prefix)) keys.push(k);
  }
  return keys;
}

/** Remove this client's expired (or unreadable) pending entries. */
function sweep(storage: RedirectStorage, prefix: string, now: number): void {
  for (const k of pendingKeys(storage, prefix)) {
    const p = parsePending(storage.getItem(k));
    if (!p || p.expiresAt <= now) storage.removeItem(k);
  }
}

function random(bytes: number): string {
  return toBase64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** The PKCE S256 challenge of a verifier: base64url(SHA-256(verifier)). */
export async function codeChallenge(verifier: string): Promise<string> {
  return toBase64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
}

/**
 * Send the user to the hosted sign-in (`${baseUrl}/hosted/sign-in`, or `/hosted/invitation`
 * with an invitation code). A new PKCE verifier
 * (32 random bytes) and the state wait in `storage` for `handleRedirectCallback`;
 * only the verifier's S256 challenge leaves the page. Resolves once navigation starts.
 */
export async function signInWithRedirect(client: AuthioClient, options: RedirectSignInOptions): Promise<void> {
  const storage = pendingStore(options.storage);
  const prefix = keyPrefix(client);
  sweep(storage, prefix, Date.now());
  const verifier = random(32);
  const state = options.state ?? random(16);
  const q = new URLSearchParams({
    pk: client.publishableKey,
    redirect_url: options.redirectUrl,
    code_challenge: await codeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  if (options.organizationId) q.set('organization', options.organizationId);
  if (options.loginHint) q.set('login_hint', options.loginHint);
  if (options.invitationCode) q.set('code', options.invitationCode);
  const pending: Pending = { verifier, state, redirectUrl: options.redirectUrl, expiresAt: Date.now() + PENDING_REDIRECT_MS };
  storage.setItem(prefix + state, JSON.stringify(pending));
  const url = `${client.baseUrl}/hosted/${options.invitationCode ? 'invitation' : 'sign-in'}?${q}`;
  (options.navigate ?? ((u: string) => globalThis.location.assign(u)))(url);
}

/**
 * When the callback URL is this page's: take `code` and `state` out of the address bar
 * (and so out of the history), before anything else can read or leak them.
 */
function forgetCallbackParams(url: URL): void {
  const loc = (globalThis as { location?: Location }).location;
  const history = (globalThis as { history?: History }).history;
  if (!loc || !history || loc.href !== url.href) return;
  const clean = new URL(url.href);
  clean.searchParams.delete('code');
  clean.searchParams.delete('state');
  history.replaceState(history.state, '', clean.href);
}

/**
 * On the redirect URL (in any tab of the origin: the one that started the sign-in, or
 * the one the magic link opened): read `code` and `state` from `url`, find the pending
 * sign-in of that state, and exchange the code with its verifier. The session is stored
 * like any sign-in (every earlier context of this browser is replaced) and its
 * organization context is this tab's. When `url` is this page's address, `code` and
 * `state` are taken out of it (history.replaceState) before anything else happens. The
 * pending entry is removed first, so a code is
 * tried once; a callback with a state nothing waits for spends nothing. Errors:
 * `invalid_callback` (no code or state in the URL), `no_pending_sign_in` (no sign-in of
 * this client is pending, or it expired), `state_mismatch` (others are pending, not this
 * state), and the API's `invalid_handoff` (unknown, expired or used code, or a wrong
 * verifier).
 */
export async function handleRedirectCallback(
  client: AuthioClient,
  url: string = globalThis.location.href,
  options: RedirectCallbackOptions = {},
): Promise<RedirectSignedIn> {
  const storage = pendingStore(options.storage);
  const parsed = new URL(url);
  const q = parsed.searchParams;
  const code = q.get('code');
  const state = q.get('state');
  forgetCallbackParams(parsed);
  if (!code || !state) throw new AuthioError(0, 'invalid_callback', 'the URL has no code and state');
  const prefix = keyPrefix(client);
  const now = Date.now();
  const pending = parsePending(storage.getItem(prefix + state));
  if (pending) storage.removeItem(prefix + state);
  sweep(storage, prefix, now);
  if (!pending || pending.state !== state || pending.expiresAt <= now) {
    if (pendingKeys(storage, prefix).length > 0) {
      throw new AuthioError(0, 'state_mismatch', 'the state matches no pending sign-in');
    }
    throw new AuthioError(0, 'no_pending_sign_in', 'no sign-in by redirect is pending (or it expired)');
  }
  return { ...(await client.exchangeHandoff(code, pending.verifier)), state };
}
