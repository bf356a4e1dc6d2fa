// What happens after a sign-in, decided from the session answer's memberships.
import type { MembershipSummary, SsoRoute } from './api';

/** The next step of a sign-in that returns to an app. */
export type Next =
  /** Several organizations and none asked for: the user chooses. */
  | { kind: 'choose'; options: MembershipSummary[] }
  /** Switch into this organization (the one asked for, or the user's only one). */
  | { kind: 'switch'; organizationId: string }
  /** No organization: return with the sign-in's own ("no organization") context. */
  | { kind: 'none' }
  /**
   * The app asked for an organization, and the sign-in's answer lists no active
   * membership at all: the user is not in it, and has none to choose instead.
   */
  | { kind: 'not-member'; organizationId: string };

/** The memberships a user can act in (status `active`), in the answer's order. */
export function activeMemberships(memberships: readonly MembershipSummary[] | undefined): MembershipSummary[] {
  return (memberships ?? []).filter((m) => m.status === 'active');
}

/** The organizations where the user is an active admin (the org-admin page's list). */
export function adminMemberships(memberships: readonly MembershipSummary[] | undefined): MembershipSummary[] {
  return activeMemberships(memberships).filter((m) => m.role === 'admin');
}

/**
 * `choose` (an OAuth client's `prompt=select_account`) offers the chooser whenever there
 * is an active membership, even one, and whatever was preselected. Otherwise
 * `preselect` (the app's `organization` parameter) wins, even when it is not among the
 * memberships: the server then answers `not_a_member`, which the page shows (with the
 * chooser to fall back on). When the answer lists memberships and none is active, the
 * user cannot be in it: `not-member`, nothing to switch to or choose. Otherwise one
 * active membership is entered straight away, several are offered, none returns
 * without an organization.
 */
export function nextStep(
  memberships: readonly MembershipSummary[] | undefined,
  preselect: string | null,
  choose = false,
): Next {
  const active = activeMemberships(memberships);
  if (choose && active.length > 0) return { kind: 'choose', options: active };
  if (preselect) {
    if (memberships !== undefined && active.length === 0) return { kind: 'not-member', organizationId: preselect };
    return { kind: 'switch', organizationId: preselect };
  }
  if (active.length === 0) return { kind: 'none' };
  if (active.length === 1) return { kind: 'switch', organizationId: active[0]!.organization.id };
  return { kind: 'choose', options: active };
}

/** An organization's name from the memberships, else its id. */
export function organizationName(memberships: readonly MembershipSummary[] | undefined, id: string): string {
  return (memberships ?? []).find((m) => m.organization.id === id)?.organization.name ?? id;
}

/** Whether an OpenID Connect `prompt` (space-separated values) asks the user to choose (`select_account`). */
export function selectsAccount(prompt: string | null | undefined): boolean {
  return (prompt ?? '').split(' ').includes('select_account');
}

/** What the sign-in form offers for the email's SSO route. */
export type SsoOffer =
  /** No route: the usual form. */
  | { kind: 'none' }
  /** The organization's sign-in (/v1/auth/sso/start); `only` when its policy admits no other way in. */
  | { kind: 'start'; connectionId: string; only: boolean };

/**
 * The form's SSO offer for the email's route. Every page can start it: a sign-in that
 * hands off to an app returns there from the identity provider, any other (OAuth,
 * invitation, org admin, this page's own) to /hosted/sso and on (lib/sso.ts).
 */
export function ssoOffer(route: SsoRoute | null): SsoOffer {
  if (route === null) return { kind: 'none' };
  return { kind: 'start', connectionId: route.connection_id, only: route.required };
}

/** The email to look up (trimmed) when it looks like an address with a dotted domain, else null. */
export function lookupEmail(email: string): string | null {
  const e = email.trim();
  return /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(e) ? e : null;
}

/** A lookup's answer as an SSO route, when it is one (`required` only when it says `true`). */
export function asSsoRoute(answer: unknown): SsoRoute | null {
  const a = answer as Partial<Record<keyof SsoRoute, unknown>> | null | undefined;
  if (typeof a?.connection_id !== 'string' || a.connection_id === '') return null;
  return {
    organization_id: typeof a.organization_id === 'string' ? a.organization_id : '',
    connection_id: a.connection_id,
    required: a.required === true,
  };
}
