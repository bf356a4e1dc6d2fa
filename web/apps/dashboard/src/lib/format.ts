/** "2026-12-06 19:03 UTC": dates in one zone for everyone, so what tests and people see agrees. */
export function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

/** A secret as the key list shows it: prefix and last four (`sk_test_…abcd`). */
export function maskedSecret(prefix: string, lastFour: string): string {
  return `${prefix}…${lastFour}`;
}

/** An audit entry's actor: "api_key key_…", "user user_…", "system". */
export function formatActor(actor: { type: string; id: string | null }): string {
  return actor.id ? `${actor.type} ${actor.id}` : actor.type;
}

/** An audit entry's targets, one "type id" each. */
export function formatTargets(targets: ReadonlyArray<{ type: string; id: string }>): string[] {
  return targets.map((t) => `${t.type} ${t.id}`);
}

/** "12 ms", "1.4 s"; "—" when unknown. */
export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** "Ann Lee", "Ann", or null when neither name is set. */
export function fullName(user: { first_name: string | null; last_name: string | null }): string | null {
  const name = [user.first_name, user.last_name].filter((p) => p && p.trim()).join(' ');
  return name || null;
}

/**
 * Event filters as typed ("membership.*, organization.created" or one a line): trimmed,
 * without blanks or repeats, in the order given.
 */
export function parseEventFilters(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(/[\s,]+/)) {
    const p = part.trim();
    if (p && !out.includes(p)) out.push(p);
  }
  return out;
}

/** A delivery's status as people read it. */
export function deliveryStatusText(d: { status: string; try: number; next_retry_at: string | null }): string {
  switch (d.status) {
    case 'delivered':
      return 'Delivered';
    case 'failed':
      return `Failed after ${d.try} ${d.try === 1 ? 'try' : 'tries'}`;
    case 'pending':
      return d.try > 0 ? `Retrying (${d.try} ${d.try === 1 ? 'try' : 'tries'} so far)` : 'Pending';
    default:
      return d.status;
  }
}

/** A webhook endpoint's state: "Enabled", "Disabled (manual)", "Disabled (failing)". */
export function endpointStatus(e: { enabled: boolean; disabled_reason: string | null }): string {
  if (e.enabled) return 'Enabled';
  return e.disabled_reason ? `Disabled (${e.disabled_reason})` : 'Disabled';
}

/** "19:03:27 UTC": a time of day to the second (attempts minutes apart, retries seconds apart). */
export function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(11, 19) + ' UTC';
}

/** "2026-12-06 19:03:27 UTC": an audit entry's time, to the second. */
export function formatInstant(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 19).replace('T', ' ') + ' UTC';
}
