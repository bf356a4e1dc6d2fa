// The home page's tiles: counts as far as the API allows them. The API gives no totals
// (lists are pages of at most 100 with a cursor), so a count is what was read plus
// whether there is more: a full page of users is "100+", never a made-up number.
import type { AuditEvent, Page } from './api';

export interface Count {
  value: number;
  /** More exist than `value` (a full page with a next cursor, or a cap reached). */
  more: boolean;
}

export const ZERO: Count = { value: 0, more: false };

/** "3", "100+". */
export function countLabel(c: Count): string {
  return c.more ? `${c.value}+` : String(c.value);
}

/** What one page says about the size of the list. */
export function countOfPage(page: Page<unknown>): Count {
  return { value: page.data.length, more: page.next_cursor !== null };
}

export function addCounts(counts: readonly Count[]): Count {
  return counts.reduce((a, c) => ({ value: a.value + c.value, more: a.more || c.more }), ZERO);
}

/**
 * The audit event types that open a sign-in session. `session.created` is recorded once
 * per end-user sign-in whatever the method (magic link, passkey, sign-in token);
 * switching organizations (`session.context_opened`) and refreshes are not sign-ins,
 * and console (operator) sessions are not in a project's audit log.
 */
export const SIGN_IN_TYPES: readonly string[] = ['session.created'];

export const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Sign-ins on one page of audit events (newest first) at or after `since`, and whether
 * the page reached back past `since` (then older pages cannot add any).
 */
export function signInsOnPage(events: readonly AuditEvent[], since: Date): { count: number; done: boolean } {
  const from = since.getTime();
  let count = 0;
  let done = false;
  for (const e of events) {
    const t = Date.parse(e.occurred_at);
    if (Number.isNaN(t)) continue;
    if (t < from) {
      done = true;
      continue;
    }
    if (SIGN_IN_TYPES.includes(e.type)) count += 1;
  }
  return { count, done };
}

/**
 * Sign-ins since `since`, reading pages of audit events (newest first) with `fetchPage`
 * until one reaches past `since` or the list ends; after `maxPages` pages the count is
 * "N+" rather than a guess.
 */
export async function countSignInsSince(
  fetchPage: (after: string | null) => Promise<Page<AuditEvent>>,
  since: Date,
  maxPages = 10,
): Promise<Count> {
  let after: string | null = null;
  let value = 0;
  for (let i = 0; i < maxPages; i += 1) {
    const page: Page<AuditEvent> = await fetchPage(after);
    const { count, done } = signInsOnPage(page.data, since);
    value += count;
    if (done || page.next_cursor === null) return { value, more: false };
    after = page.next_cursor;
  }
  return { value, more: true };
}

/**
 * Failed deliveries across the project's webhook endpoints: one page of endpoints, and
 * for each one page of its deliveries whose status is `failed` (every retry spent).
 */
export async function countFailedDeliveries(
  endpoints: () => Promise<Page<{ id: string }>>,
  failed: (endpointId: string) => Promise<Page<unknown>>,
): Promise<{ failed: Count; endpoints: Count }> {
  const list = await endpoints();
  const counts = await Promise.all(list.data.map(async (e) => countOfPage(await failed(e.id))));
  const endpointCount = countOfPage(list);
  const sum = addCounts(counts);
  // Endpoints past the first page were not read: their failures may add to the sum.
  return { failed: { value: sum.value, more: sum.more || endpointCount.more }, endpoints: endpointCount };
}
