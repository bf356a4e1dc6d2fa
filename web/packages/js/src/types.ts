// The API's answers, as /work/shared/API.md and GET /openapi.json describe them
// (snake_case, exactly as the server sends them).

export interface OrganizationRef {
  id: string;
  name: string;
  slug: string;
}

/** The organization a token acts in, with the user's role there. */
export interface ActiveOrganization extends OrganizationRef {
  role: string;
  /** The role's permissions, sorted. */
  permissions?: string[];
  /** The user's teams (slugs), when the project puts teams in tokens. */
  teams?: string[];
}

export interface MembershipSummary {
  organization: OrganizationRef;
  role: string;
  status: string;
}

export interface UserRef {
  id: string;
  email: string;
}

/** The API's session answer (sign-in, switch-org, refresh). */
export interface SessionAnswer {
  access_token: string;
  refresh_token: string;
  token_type: string;
  /** Seconds until the access token expires. */
  expires_in: number;
  session_id: string;
  user: UserRef;
  active_organization: ActiveOrganization | null;
  /** Absent when asked with `?include=` (the client does so on refresh). */
  memberships?: MembershipSummary[];
}

/** What a sign-in or a switch gives back to the app: the session answer without its tokens. */
export interface SignedIn {
  session_id: string;
  user: UserRef;
  active_organization: ActiveOrganization | null;
  memberships?: MembershipSummary[];
}

/** `GET /v1/me`. */
export interface Me {
  user: UserRef & { first_name: string | null; last_name: string | null };
  session_id: string;
  active_organization: ActiveOrganization | null;
  memberships: MembershipSummary[];
}

/** One live context of a session, as `GET /v1/sessions/current` lists it. */
export interface SessionContext {
  /** `null` for the "no organization" context. */
  organization: { id: string; name: string; role: string } | null;
  created_at: string;
  last_refreshed_at: string | null;
}

/** `GET /v1/sessions/current`. */
export interface SessionContexts {
  session_id: string;
  contexts: SessionContext[];
}

/** A registered passkey (`POST /v1/auth/passkeys/registration/finish`). */
export interface Passkey {
  /** The credential id, base64url. */
  id: string;
  user_id: string;
  created_at: string;
  last_used_at: string | null;
}

/** `{ceremony_id, options}` of a passkey ceremony's start, options in their JSON form. */
export interface CeremonyStart<O = Record<string, unknown>> {
  ceremony_id: string;
  options: O;
}
