// Tools for forcing an interleaving: requests held at the network with Playwright's
// routing, and the shared storage's context entries.
import type { Request } from '@playwright/test';
import { setup, type Tab } from './fixtures';

export const isRefresh = (url: URL): boolean => url.pathname === '/v1/sessions/refresh';
export const refreshTokenOf = (r: Request): string => (r.postDataJSON() as { refresh_token: string }).refresh_token;

/** The context entries (`authio:<pk>:ctx:<key>`) in the shared storage: key → the session it belongs to. */
export async function contexts(t: Tab): Promise<Record<string, string>> {
  const prefix = `authio:${setup().publishableKey}:ctx:`;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(await t.storage())) {
    if (k.startsWith(prefix)) out[k.slice(prefix.length)] = (JSON.parse(v) as { sessionId: string }).sessionId;
  }
  return out;
}

/** The locks of this name, as the tab's `navigator.locks.query()` sees them (the origin's, every tab's). */
export async function locksOn(t: Tab, name: string): Promise<{ held: number; pending: number }> {
  return t.page.evaluate(
    (n) =>
      navigator.locks.query().then((s) => ({
        held: (s.held ?? []).filter((l) => l.name === n).length,
        pending: (s.pending ?? []).filter((l) => l.name === n).length,
      })),
    name,
  );
}

/** Something to wait for and a function that fires it. */
export function signal(): { wait: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const wait = new Promise<void>((r) => (fire = r));
  return { wait, fire };
}
