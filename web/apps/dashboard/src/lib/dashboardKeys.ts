// The console API has no project routes, so the dashboard reaches /v1/organizations,
// /v1/users, /v1/audit-events and /v1/webhook-endpoints with a test secret key (the
// "dashboard key", one per tenant, shared by those pages) that the operator asks it to create
// (POST /v1/session/tenants/{id}/api-keys). The secret lives in this module's memory
// only: never in storage, gone on reload; sign-out revokes the keys made this way.

export const DASHBOARD_KEY_NAME = 'Dashboard (browser tab)';

export interface HeldKey {
  keyId: string;
  secret: string;
}

const held = new Map<string, HeldKey>();

export function heldKey(tenantId: string): HeldKey | undefined {
  return held.get(tenantId);
}

export function holdKey(tenantId: string, key: HeldKey): void {
  held.set(tenantId, key);
}

export function dropKey(tenantId: string): void {
  held.delete(tenantId);
}

/** Forget the held key that has this id (after it was revoked), wherever it is held. */
export function dropKeyById(keyId: string): void {
  for (const [tenantId, key] of held) if (key.keyId === keyId) held.delete(tenantId);
}

/** Every held key, and forget them all (on sign-out). */
export function takeAllKeys(): Array<{ tenantId: string } & HeldKey> {
  const all = [...held].map(([tenantId, key]) => ({ tenantId, ...key }));
  held.clear();
  return all;
}
