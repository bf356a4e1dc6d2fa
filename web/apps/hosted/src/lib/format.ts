/** `2026-12-06 21:32 UTC` from an RFC 3339 time (the same in every browser and locale). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())} UTC`;
}

/** A person's first and last name, or null when neither is known. */
export function personName(user: { first_name: string | null; last_name: string | null }): string | null {
  const name = [user.first_name, user.last_name]
    .map((s) => s?.trim())
    .filter(Boolean)
    .join(' ');
  return name || null;
}
