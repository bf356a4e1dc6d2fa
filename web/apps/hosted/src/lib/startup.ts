// What the page does before anything else (main.tsx, before the first render and so
// before any network call).
import { pageOf, parseParams, withoutParams } from './query';

/**
 * Take a magic link's `token` out of the address: read it (the last `token=`, see
 * parseParams) into memory and replace the history entry with the same address
 * without any `token`, so that the spent-once secret is never left in the address bar
 * or the history, whatever happens next (no `pk`, an unknown key, a failed request).
 * Any page's `token` is removed; only /hosted/magic-link uses it.
 */
export function takeMagicLinkToken(win: Pick<Window, 'location' | 'history'> = window): string | null {
  const { pathname, search, hash } = win.location;
  if (!new URLSearchParams(search).has('token')) return null;
  const token = parseParams(search).token;
  win.history.replaceState(win.history.state, '', pathname + withoutParams(search, ['token']) + hash);
  return token;
}

/**
 * On /hosted/sso only: take the handoff `code` (the last one: the server appends its
 * own) out of the address, as a magic link's token, so that it is never left in the
 * address bar or the history. On other pages `code` is an invitation's and stays.
 */
export function takeSsoCode(win: Pick<Window, 'location' | 'history'> = window): string | null {
  const { pathname, search, hash } = win.location;
  if (pageOf(pathname) !== 'sso') return null;
  const q = new URLSearchParams(search);
  if (!q.has('code')) return null;
  const code = q.getAll('code').at(-1)?.trim() || null;
  win.history.replaceState(win.history.state, '', pathname + withoutParams(search, ['code']) + hash);
  return code;
}
