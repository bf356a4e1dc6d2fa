// What a tenant's mode means, in the words the dashboard shows, and the rules of
// switching between modes (kept in step with the API: PATCH /v1/session/tenants/{id}
// answers 409 tenant_has_organizations for b2b → flat/b2c while organizations exist).

export type Mode = 'b2b' | 'flat' | 'b2c';

export interface ModeInfo {
  id: Mode;
  title: string;
  /** One line: who the customers are and what that means for sign-in. */
  summary: string;
}

export const MODES: readonly ModeInfo[] = [
  {
    id: 'b2b',
    title: 'B2B',
    summary: 'Your customers are companies: users belong to organizations, each with its own members and roles.',
  },
  {
    id: 'flat',
    title: 'Flat',
    summary: 'One pool of users who sign in to your app directly, with no organizations.',
  },
  {
    id: 'b2c',
    title: 'B2C',
    summary: 'Consumers sign up on their own, with social sign-in and your branding; no organizations.',
  },
];

export function isMode(value: unknown): value is Mode {
  return value === 'b2b' || value === 'flat' || value === 'b2c';
}

export function modeInfo(mode: Mode): ModeInfo {
  const info = MODES.find((m) => m.id === mode);
  if (!info) throw new Error(`unknown mode ${String(mode)}`);
  return info;
}

/** "1 organization", "3 organizations". */
export function countOrganizations(n: number): string {
  return `${n} ${n === 1 ? 'organization' : 'organizations'}`;
}

/**
 * Why the tenant cannot switch from `from` to `to` right now, or null when it can.
 * Only b2b → flat/b2c is ever refused, and only while organizations exist.
 */
export function switchBlockedReason(from: Mode, to: Mode, organizationsCount: number): string | null {
  if (from === 'b2b' && to !== 'b2b' && organizationsCount > 0) {
    return `Delete the ${countOrganizations(organizationsCount)} first`;
  }
  return null;
}

/** Organizations exist only in b2b mode (the API answers 409 organizations_disabled otherwise). */
export function organizationsEnabled(mode: Mode): boolean {
  return mode === 'b2b';
}
