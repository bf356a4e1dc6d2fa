// The pages' calls to the Authio API on their own origin (relative /v1/... URLs). The
// sign-in routes take the project's publishable key (`authio-publishable-key`); the
// rest take the signed-in user's access token, which these pages keep in memory only.

export interface Project {
  id: string;
  name: string;
  environment: 'test' | 'live';
  mode: 'b2b' | 'flat' | 'b2c';
}

export interface OrganizationRef {
  id: string;
  name: string;
  slug: string;
}

export interface ActiveOrganization extends OrganizationRef {
  role: string;
  permissions?: string[];
  teams?: string[];
}

export interface MembershipSummary {
  organization: OrganizationRef;
  role: string;
  status: string;
}

/** The API's session answer (sign-in, switch-org, refresh). */
export interface SessionAnswer {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  session_id: string;
  user: { id: string; email: string };
  active_organization: ActiveOrganization | null;
  memberships?: MembershipSummary[];
}

export interface CeremonyStart {
  ceremony_id: string;
  options: Record<string, unknown>;
}

export interface Passkey {
  id: string;
  user_id: string;
  created_at: string;
  last_used_at: string | null;
}

export interface InvitationPreview {
  id: string;
  email: string;
  organization: OrganizationRef | null;
  role: string | null;
  inviter: { email: string; name: string | null } | null;
  /** `pending`, `accepted`, `revoked` or `expired`. */
  state: string;
  expires_at: string;
}

export interface Handoff {
  code: string;
  expires_at: string;
}

/** An OAuth client's authorization request, as `/oauth2/authorize` accepted it. */
export interface AuthorizationRequest {
  client_id: string;
  client_name: string;
  scopes: string[];
  /** The organization the client asks for, else null. */
  organization: string | null;
  login_hint: string | null;
  /** OpenID Connect's `prompt` (space-separated values), else null. */
  prompt: string | null;
  redirect_uri: string;
}

/** Where the server sends the user back to the OAuth client (with a code, or `error=access_denied`). */
export interface AuthorizationAnswer {
  redirect_to: string;
}

/**
 * An email's SSO route (`GET /v1/auth/sso/lookup`): the organization that verified its
 * domain, its connection, and whether its policy admits no other way in.
 */
export interface SsoRoute {
  organization_id: string;
  connection_id: string;
  required: boolean;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface Member {
  id: string;
  user_id: string;
  organization_id: string;
  role: string;
  status: string;
  joined_at: string | null;
  created_at: string;
  user: { id: string; email: string; first_name: string | null; last_name: string | null };
}

export interface MemberSession {
  session_id: string;
  user_id: string;
  email: string;
  role: string;
  created_at: string;
  last_refreshed_at: string | null;
}

export interface AuditEvent {
  id: string;
  type: string;
  position: number;
  occurred_at: string;
  organization_id: string | null;
  actor: { type: string; id: string | null };
  targets: Array<{ type: string; id: string }>;
  data: Record<string, unknown>;
}

/** A failed call: the API's error code (`network_error` when no answer came, status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  readonly retryAfter: number | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    extra: { details?: Record<string, unknown> | undefined; retryAfter?: number | undefined } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = extra.details;
    this.retryAfter = extra.retryAfter;
  }

  /** `details.field`, when one field is at fault. */
  get field(): string | undefined {
    const f = this.details?.field;
    return typeof f === 'string' ? f : undefined;
  }
}

/**
 * The publishable key, an access token (with the key too, for routes that take both),
 * or nothing (the refresh token in the body is the credential).
 */
export type Credential = { pk: string; token?: undefined } | { token: string; pk?: string } | null;

/** One call; throws an ApiError for anything but 2xx. */
export async function call<T>(method: 'GET' | 'POST' | 'PUT', path: string, credential: Credential, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (credential?.pk) headers['authio-publishable-key'] = credential.pk;
  if (credential?.token) headers.authorization = `Bearer ${credential.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'network_error', 'The server could not be reached.');
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
    const retry = res.headers.get('retry-after');
    throw new ApiError(
      res.status,
      typeof err?.code === 'string' ? err.code : `http_${res.status}`,
      typeof err?.message === 'string' ? err.message : `The server answered ${res.status}.`,
      {
        details: err?.details && typeof err.details === 'object' ? (err.details as Record<string, unknown>) : undefined,
        retryAfter: retry !== null && retry !== '' && !isNaN(+retry) ? +retry : undefined,
      },
    );
  }
  if (text && json === undefined) throw new ApiError(res.status, 'invalid_response', 'The server answered something other than JSON.');
  return json as T;
}

const enc = encodeURIComponent;

/** The routes that take the publishable key. */
export function publicApi(pk: string) {
  const c = { pk };
  return {
    project: () => call<Project>('GET', '/v1/auth/project', c),
    sendMagicLink: (email: string, redirectUrl: string) =>
      call<{ accepted: boolean }>('POST', '/v1/auth/magic-links', c, { email, redirect_url: redirectUrl }),
    verifyMagicLink: (token: string, invitationCode: string | null) =>
      call<SessionAnswer>(
        'POST',
        '/v1/auth/magic-links/verify',
        c,
        invitationCode ? { token, invitation_code: invitationCode } : { token },
      ),
    passkeyStart: () => call<CeremonyStart>('POST', '/v1/auth/passkeys/authentication/start', c, {}),
    passkeyFinish: (ceremonyId: string, credential: unknown) =>
      call<SessionAnswer>('POST', '/v1/auth/passkeys/authentication/finish', c, { ceremony_id: ceremonyId, credential }),
    invitation: (code: string) => call<InvitationPreview>('GET', `/v1/invitations/by-code/${enc(code)}`, c),
    /** Redeem a handoff code with the verifier of its challenge (an SSO sign-in these pages started). */
    exchangeHandoff: (code: string, verifier: string) =>
      call<SessionAnswer>('POST', '/v1/auth/handoffs/exchange', c, { code, code_verifier: verifier }),
    /** `404 not_found` when the email's domain has no SSO connection. */
    ssoLookup: (email: string) => call<SsoRoute>('GET', `/v1/auth/sso/lookup?email=${enc(email)}`, c),
  };
}

export type PublicApi = ReturnType<typeof publicApi>;

/** The routes that take an access token. */
export const userApi = {
  switchOrg: (token: string, organizationId: string) =>
    call<SessionAnswer>('POST', '/v1/sessions/switch-org', { token }, { organization_id: organizationId }),
  refresh: (refreshToken: string) =>
    call<SessionAnswer>('POST', '/v1/sessions/refresh?include=', null, { refresh_token: refreshToken }),
  signOut: (token: string) => call<void>('POST', '/v1/sessions/revoke', { token }),
  stepUpStart: (token: string) => call<CeremonyStart>('POST', '/v1/sessions/step-up/passkey/start', { token }, {}),
  stepUpFinish: (token: string, ceremonyId: string, credential: unknown) =>
    call<{ session_id: string; method: string; stepped_up_at: string }>(
      'POST',
      '/v1/sessions/step-up/passkey/finish',
      { token },
      { ceremony_id: ceremonyId, credential },
    ),
  registrationStart: (token: string) => call<CeremonyStart>('POST', '/v1/auth/passkeys/registration/start', { token }, {}),
  registrationFinish: (token: string, ceremonyId: string, credential: unknown) =>
    call<Passkey>('POST', '/v1/auth/passkeys/registration/finish', { token }, { ceremony_id: ceremonyId, credential }),
  /** Needs the access token and the project's publishable key. */
  createHandoff: (token: string, pk: string, redirectUrl: string, codeChallenge: string) =>
    call<Handoff>('POST', '/v1/auth/handoffs', { token, pk }, {
      redirect_url: redirectUrl,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
    }),
  acceptInvitation: (token: string, code: string) =>
    call<{ invitation: unknown; membership: { organization_id: string; role: string } | null }>(
      'POST',
      '/v1/invitations/accept',
      { token },
      { code },
    ),
  members: (token: string, org: string, after: string | null) =>
    call<Page<Member>>('GET', `/v1/organizations/${enc(org)}/members${page(after)}`, { token }),
  sessions: (token: string, org: string, after: string | null) =>
    call<Page<MemberSession>>('GET', `/v1/organizations/${enc(org)}/sessions${page(after)}`, { token }),
  revokeSession: (token: string, org: string, sessionId: string) =>
    call<void>('POST', `/v1/organizations/${enc(org)}/sessions/${enc(sessionId)}/revoke`, { token }),
  audit: (token: string, org: string, after: string | null) =>
    call<Page<AuditEvent>>('GET', `/v1/organizations/${enc(org)}/audit-events${page(after)}`, { token }),
};

/** An OAuth authorization request (`authorization=` of /hosted/sign-in): read, grant, deny. */
export const oauthApi = {
  request: (request: string) => call<AuthorizationRequest>('GET', `/v1/oauth2/requests/${enc(request)}`, null),
  /** Grants the request with the chosen context's access token: the client gets a code for that context. */
  authorize: (token: string, request: string) =>
    call<AuthorizationAnswer>('POST', '/v1/oauth2/authorizations', { token }, { request }),
  deny: (request: string) => call<AuthorizationAnswer>('POST', '/v1/oauth2/authorizations/deny', null, { request }),
};

function page(after: string | null): string {
  return `?limit=100${after ? `&after=${enc(after)}` : ''}`;
}
