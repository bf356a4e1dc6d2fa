/** "2026-12-06 19:03 UTC": dates in one zone for everyone, so what tests and people see agrees. */
export function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

/** A secret as the key list shows it: prefix and last four (`sk_test_…abcd`). */
export function maskedSecret(prefix: string, lastFour: string): string {
  return `${prefix}…${lastFour}`;
}
