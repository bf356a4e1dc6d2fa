// What the page does before anything else (main.tsx, before the first render and so
// before any network call).
import { parseParams, withoutParams } from './query';

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
