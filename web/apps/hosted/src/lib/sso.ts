// An SSO sign-in that these pages start for themselves (an OAuth client's sign-in, an
// invitation, the org-admin page, this page's own sign-in), as opposed to one that hands
// off to an app (the server returns from the identity provider straight to the app).
//
// 1. `beginSso`: a fresh PKCE verifier and a random key, kept in this tab's
//    sessionStorage under the key; the server's /v1/auth/sso/start gets the verifier's
//    challenge, the key as `state`, and /hosted/sso (`ssoReturnUrl`) as where the handoff
//    code comes back.
// 2. /hosted/sso?…&code=hc_…&state=KEY: the code left the address at startup
//    (`takeSsoCode`, main.tsx); `takeVerifier` finds the verifier by the key (once: it is
//    removed), and the code is redeemed with it (POST /v1/auth/handoffs/exchange). A code
//    this tab did not ask for (a sign-in someone else started, a link sent to the user)
//    has no verifier here and is never redeemed.
// 3. The session answer waits in `pending` for the page the flow started on, whose sign-in
//    form takes it (`takePendingSignIn`) and treats it as any sign-in of its own (an
//    invitation accepts, an OAuth request continues to its organization chooser).
import type { SessionAnswer } from './api';
import { randomVerifier, s256 } from './pkce';
import { BASE, parseParams, withoutParams, type Flow } from './query';

const PREFIX = 'authio.sso.';

/** How long a started sign-in may take: the server's sealed state lives as long (sso::STATE_TTL_SECONDS). */
export const SSO_TTL_MS = 10 * 60 * 1000;

/** What the tab keeps for a started sign-in. */
interface Kept {
  verifier: string;
  at: number;
}

/** The parameters a page's SSO return leaves behind: the server's and the provider's. */
const RETURN_PARAMS = ['code', 'state', 'error', 'error_description', 'from', 'token'] as const;

function read(storage: Storage, name: string): Kept | null {
  try {
    const v = JSON.parse(storage.getItem(name) ?? 'null') as Partial<Kept> | null;
    return typeof v?.verifier === 'string' && typeof v.at === 'number' ? { verifier: v.verifier, at: v.at } : null;
  } catch {
    return null;
  }
}

/** Forget started sign-ins older than `SSO_TTL_MS` (or unreadable). */
function prune(storage: Storage, now: number): void {
  const names: string[] = [];
  for (let i = 0; i < storage.length; i++) {
    const name = storage.key(i);
    if (name?.startsWith(PREFIX)) names.push(name);
  }
  for (const name of names) {
    const kept = read(storage, name);
    if (!kept || now - kept.at > SSO_TTL_MS || kept.at > now) storage.removeItem(name);
  }
}

/** Start: keep a new verifier under a new key; the key (the `state`) and the verifier's challenge. */
export async function beginSso(storage: Storage = sessionStorage, now = Date.now()): Promise<{ key: string; challenge: string }> {
  prune(storage, now);
  const verifier = randomVerifier();
  const key = randomVerifier();
  storage.setItem(PREFIX + key, JSON.stringify({ verifier, at: now } satisfies Kept));
  return { key, challenge: await s256(verifier) };
}

/** The verifier kept for `key` (removed: a return is redeemed once), null when there is none or it expired. */
export function takeVerifier(key: string | null, storage: Storage = sessionStorage, now = Date.now()): string | null {
  if (!key || !/^[A-Za-z0-9_-]{43}$/.test(key)) return null;
  const kept = read(storage, PREFIX + key);
  storage.removeItem(PREFIX + key);
  return kept && now - kept.at <= SSO_TTL_MS && kept.at <= now ? kept.verifier : null;
}

/**
 * Where the server sends the handoff code of a sign-in started on page `flow`: /hosted/sso
 * on `origin`, carrying the page's query and `from`. The server appends its own `code`
 * and `state`, so the page's own travel renamed: an invitation's `code` as
 * `invitation_code`, an app's `state` as `app_state` (`afterSso` names it back).
 */
export function ssoReturnUrl(origin: string, search: string, flow: Flow): string {
  const page = new URLSearchParams(search);
  const q = new URLSearchParams(withoutParams(search, [...RETURN_PARAMS, 'app_state']));
  const invitation = page.get('code');
  if (invitation && !q.has('invitation_code')) q.set('invitation_code', invitation);
  const appState = page.get('state');
  if (appState !== null) q.set('app_state', appState);
  if (flow !== 'sign-in') q.set('from', flow);
  const s = q.toString();
  return `${origin}${BASE}sso${s ? `?${s}` : ''}`;
}

/** Where an SSO return continues: the page the flow started on, its query without what the return added. */
export function afterSso(search: string): string {
  const { flow } = parseParams(search);
  const q = new URLSearchParams(withoutParams(search, [...RETURN_PARAMS, 'app_state']));
  const appState = new URLSearchParams(search).get('app_state');
  if (appState !== null) q.set('state', appState);
  const s = q.toString();
  return `${BASE}${flow}${s ? `?${s}` : ''}`;
}

/** What came back to /hosted/sso besides the code: the key, and the provider's or server's refusal. */
export function ssoReturn(search: string): { key: string | null; error: string | null; description: string | null } {
  const q = new URLSearchParams(search);
  const last = (name: string) => q.getAll(name).at(-1) ?? null;
  return { key: last('state'), error: last('error'), description: last('error_description') };
}

let pending: SessionAnswer | null = null;

/** Keep a redeemed SSO sign-in for the page the flow continues on. */
export function setPendingSignIn(answer: SessionAnswer): void {
  pending = answer;
}

/** The SSO sign-in waiting for this page's form, once. */
export function takePendingSignIn(): SessionAnswer | null {
  const a = pending;
  pending = null;
  return a;
}
