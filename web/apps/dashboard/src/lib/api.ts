// The dashboard's calls to the Authio API, on the same origin (relative /v1/... URLs).
// Console routes take the operator's console token (cs_…); the project routes (users,
// organizations, memberships, audit log, webhooks) take a project secret key (sk_…),
// which the dashboard only ever holds in memory.
import type { Mode } from './modes';

export interface Tenant {
  id: string;
  name: string;
  slug: string;
  mode: Mode;
  organizations_count: number;
  token_algorithm: string;
  created_at: string;
  updated_at: string;
}

export interface ChecklistItem {
  id: string;
  title: string;
  done: boolean;
}

export interface Home {
  operator: { id: string; email: string };
  tenant: Tenant | null;
  checklist: ChecklistItem[];
}

export interface ApiKey {
  id: string;
  name: string;
  environment: 'test' | 'live';
  secret_prefix: string;
  secret_last_four: string;
  publishable_key: string;
  created_at: string;
  revoked_at: string | null;
}

export interface CreatedApiKey {
  id: string;
  name: string;
  environment: 'test' | 'live';
  secret: string;
  publishable_key: string;
  created_at: string;
}

export interface Organization {
  id: string;
  name: string;
  slug: string;
  domains: string[];
  created_at: string;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface User {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  email_verified: boolean;
  created_at: string;
  updated_at: string;
}

export type MembershipStatus = 'pending' | 'active' | 'inactive';

export interface Membership {
  id: string;
  user_id: string;
  organization_id: string;
  role: string;
  status: MembershipStatus;
  joined_at: string | null;
  created_at: string;
  updated_at: string;
}

/** An audit entry: the envelope shared by the audit log, the events API and webhooks. */
export interface AuditEvent {
  id: string;
  type: string;
  position: number;
  occurred_at: string;
  project_id: string | null;
  organization_id: string | null;
  actor: { type: string; id: string | null };
  targets: Array<{ type: string; id: string }>;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export interface WebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  /** `manual` or `failing` while disabled. */
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface CreatedWebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  secret: string;
  enabled: boolean;
  created_at: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryAttempt {
  try: number;
  status_code: number | null;
  error: string | null;
  latency_ms: number;
  at: string;
}

export interface Delivery {
  id: string;
  event_id: string;
  event_type: string;
  position: number;
  status: DeliveryStatus;
  try: number;
  status_code: number | null;
  latency_ms: number | null;
  last_error: string | null;
  next_retry_at: string | null;
  created_at: string;
  updated_at: string;
  attempts: DeliveryAttempt[];
}

export type OAuthClientType = 'confidential' | 'public';

/** An OAuth client of the project's OpenID Connect provider; its id is the `client_id`. */
export interface OAuthClient {
  id: string;
  name: string;
  client_type: OAuthClientType;
  redirect_uris: string[];
  scopes: string[];
  backchannel_logout_uri: string | null;
  created_at: string;
  updated_at: string;
}

/** A registration's answer: `client_secret` (`ocs_…`) for a confidential client, shown this once. */
export interface RegisteredOAuthClient extends OAuthClient {
  client_secret: string | null;
}

export interface NewOAuthClient {
  name: string;
  client_type: OAuthClientType;
  redirect_uris: string[];
  scopes: string[];
  backchannel_logout_uri?: string;
}

/**
 * How a connection's identity provider speaks: OpenID Connect, SAML 2.0 (an
 * organization's) or GitHub's OAuth (a project's social sign-in).
 */
export type ConnectionProtocol = 'oidc' | 'saml' | 'github';

/** A SAML connection's service-provider side (Authio), to register at the identity provider. */
export interface SamlEndpoints {
  /** The assertion consumer service, where the provider posts its response (HTTP-POST binding). */
  acs_url: string;
  /** Authio's service-provider metadata for this connection (public GET, application/samlmetadata+xml). */
  metadata_url: string;
}

/**
 * An SSO connection: an organization's own identity provider. OpenID Connect: `issuer`
 * is the provider's issuer and `client_id` the client Authio is registered as. SAML:
 * `issuer` is the provider's entity id, `client_id` Authio's service-provider entity id
 * and `saml` its ACS and metadata URLs.
 */
export interface Connection {
  id: string;
  organization_id: string | null;
  name: string;
  issuer: string;
  client_id: string;
  jit_role: string | null;
  protocol: ConnectionProtocol;
  /** SAML only (null for OpenID Connect). */
  saml: SamlEndpoints | null;
  created_at: string;
  updated_at: string;
}

/** A new OpenID Connect connection (`protocol` absent means OpenID Connect). */
export interface NewOidcConnection {
  name: string;
  protocol?: 'oidc';
  issuer: string;
  client_id: string;
  client_secret: string;
  jit_role?: string;
}

/** A new SAML 2.0 connection, from the identity provider's metadata XML. */
export interface NewSamlConnection {
  name: string;
  protocol: 'saml';
  metadata_xml: string;
  jit_role?: string;
}

export type NewConnection = NewOidcConnection | NewSamlConnection;

/**
 * A new connection of the project itself (social sign-in, POST /v1/connections):
 * OpenID Connect (the default) needs `issuer`; GitHub takes none for github.com, or a
 * GitHub Enterprise Server address.
 */
export type NewProjectConnection =
  | { name: string; protocol?: 'oidc'; issuer: string; client_id: string; client_secret: string }
  | { name: string; protocol: 'github'; issuer?: string; client_id: string; client_secret: string };

/** The longest metadata document the server accepts (authio_saml::MAX_METADATA_LEN). */
export const MAX_SAML_METADATA_BYTES = 256 * 1024;

export type DomainState = 'pending' | 'verified' | 'failed';

/**
 * A domain an organization claims: `verified` once its TXT record was found. An
 * organization's SSO connections sign in only addresses of its verified domains.
 */
export interface OrganizationDomain {
  id: string;
  organization_id: string;
  domain: string;
  state: DomainState;
  /** The record to publish: TXT `name` with `value`. */
  verification: { type: string; name: string; value: string };
  auto_join: boolean;
  role: string | null;
  verified_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface AuditFilter {
  organization_id?: string;
  action?: string;
  actor_id?: string;
}

/**
 * `?a=1&b=x`: the query string of a list call; undefined, null and empty values are
 * left out (the API reads an empty `after` or filter as a value, not as "none").
 */
export function queryString(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** An answer other than 2xx, with the API's error code (`network_error` when none came). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;

  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

async function callWith<T>(
  method: Method,
  path: string,
  credential: string,
  body?: unknown,
  onUnauthorized?: () => void,
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (credential) headers.authorization = `Bearer ${credential}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'network_error', 'The server could not be reached.');
  }
  const text = await res.text();
  let json: unknown = undefined;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  if (!res.ok) {
    if (res.status === 401) onUnauthorized?.();
    const err = (json as { error?: { code?: string; message?: string; details?: { field?: string } } } | undefined)
      ?.error;
    throw new ApiError(
      res.status,
      err?.code ?? 'http_' + res.status,
      err?.message ?? `The server answered ${res.status}.`,
      err?.details?.field,
    );
  }
  return json as T;
}

const enc = encodeURIComponent;

/** Console routes, with the operator's console token; `onUnauthorized` hears of a 401 (an ended session). */
export function consoleApi(token: string, onUnauthorized?: () => void) {
  const call = <T,>(method: Method, path: string, body?: unknown) =>
    callWith<T>(method, path, token, body, onUnauthorized);
  return {
    home: () => call<Home>('GET', '/v1/session/home'),
    tenants: () => call<Page<Tenant>>('GET', '/v1/session/tenants/me?limit=100'),
    tenant: (id: string) => call<Tenant>('GET', `/v1/session/tenants/${enc(id)}`),
    createTenant: (body: { name: string; slug?: string; mode: Mode }) =>
      call<Tenant>('POST', '/v1/session/tenants', body),
    updateTenant: (id: string, body: { name?: string; slug?: string; mode?: Mode }) =>
      call<Tenant>('PATCH', `/v1/session/tenants/${enc(id)}`, body),
    selectTenant: (id: string) => call<Tenant>('POST', `/v1/session/tenants/${enc(id)}/select`),
    apiKeys: (id: string) => call<Page<ApiKey>>('GET', `/v1/session/tenants/${enc(id)}/api-keys?limit=100`),
    createApiKey: (id: string, body: { name: string; environment: 'test' | 'live' }) =>
      call<CreatedApiKey>('POST', `/v1/session/tenants/${enc(id)}/api-keys`, body),
    revokeApiKey: (id: string, keyId: string) =>
      call<void>('DELETE', `/v1/session/tenants/${enc(id)}/api-keys/${enc(keyId)}`),
    /** Ends this console session on the server: its token answers 401 from then on. */
    signOut: () => call<void>('POST', '/v1/session/sign-out'),
  };
}

export type ConsoleApi = ReturnType<typeof consoleApi>;

/** Project routes, with a secret key (sk_test_… / sk_live_…). */
export function projectApi(secret: string, onUnauthorized?: () => void) {
  const call = <T,>(method: Method, path: string, body?: unknown) =>
    callWith<T>(method, path, secret, body, onUnauthorized);
  return {
    organizations: (after?: string) =>
      call<Page<Organization>>('GET', `/v1/organizations?limit=100${after ? `&after=${enc(after)}` : ''}`),
    createOrganization: (body: { name: string; slug?: string }) =>
      call<Organization>('POST', '/v1/organizations', body),
    deleteOrganization: (id: string) => call<void>('DELETE', `/v1/organizations/${enc(id)}`),
    organization: (id: string) => call<Organization>('GET', `/v1/organizations/${enc(id)}`),

    users: (q: { email?: string; after?: string | null; limit?: number }) =>
      call<Page<User>>('GET', `/v1/users${queryString({ email: q.email, limit: q.limit, after: q.after })}`),
    user: (id: string) => call<User>('GET', `/v1/users/${enc(id)}`),
    createUser: (body: { email: string; first_name?: string; last_name?: string }) =>
      call<User>('POST', '/v1/users', body),
    userMemberships: (id: string, after?: string | null) =>
      call<Page<Membership>>('GET', `/v1/users/${enc(id)}/memberships${queryString({ limit: 100, after })}`),
    createMembership: (body: { user_id: string; organization_id: string; role?: string }) =>
      call<Membership>('POST', '/v1/memberships', body),

    auditEvents: (q: AuditFilter & { after?: string | null; limit?: number }) =>
      call<Page<AuditEvent>>(
        'GET',
        `/v1/audit-events${queryString({
          organization_id: q.organization_id,
          action: q.action,
          actor_id: q.actor_id,
          limit: q.limit,
          after: q.after,
        })}`,
      ),

    webhookEndpoints: (q: { after?: string | null; limit?: number } = {}) =>
      call<Page<WebhookEndpoint>>('GET', `/v1/webhook-endpoints${queryString({ limit: q.limit, after: q.after })}`),
    webhookEndpoint: (id: string) => call<WebhookEndpoint>('GET', `/v1/webhook-endpoints/${enc(id)}`),
    createWebhookEndpoint: (body: { url: string; events: string[] }) =>
      call<CreatedWebhookEndpoint>('POST', '/v1/webhook-endpoints', body),
    updateWebhookEndpoint: (id: string, body: { enabled?: boolean; url?: string; events?: string[] }) =>
      call<WebhookEndpoint>('PATCH', `/v1/webhook-endpoints/${enc(id)}`, body),
    deleteWebhookEndpoint: (id: string) => call<void>('DELETE', `/v1/webhook-endpoints/${enc(id)}`),
    rotateWebhookSecret: (id: string) =>
      call<{ secret: string; previous_secret_expires_at: string }>(
        'POST',
        `/v1/webhook-endpoints/${enc(id)}/rotate-secret`,
      ),
    deliveries: (id: string, q: { status?: DeliveryStatus | null; after?: string | null; limit?: number } = {}) =>
      call<Page<Delivery>>(
        'GET',
        `/v1/webhook-endpoints/${enc(id)}/deliveries${queryString({ status: q.status, limit: q.limit, after: q.after })}`,
      ),
    retryDelivery: (id: string, deliveryId: string) =>
      call<Delivery>('POST', `/v1/webhook-endpoints/${enc(id)}/deliveries/${enc(deliveryId)}/retry`),

    oauthClients: (q: { after?: string | null; limit?: number } = {}) =>
      call<Page<OAuthClient>>('GET', `/v1/oauth-clients${queryString({ limit: q.limit, after: q.after })}`),
    createOAuthClient: (body: NewOAuthClient) => call<RegisteredOAuthClient>('POST', '/v1/oauth-clients', body),
    rotateOAuthClientSecret: (id: string) =>
      call<{ client_secret: string }>('POST', `/v1/oauth-clients/${enc(id)}/rotate-secret`),
    deleteOAuthClient: (id: string) => call<void>('DELETE', `/v1/oauth-clients/${enc(id)}`),

    connections: (organizationId: string) =>
      call<Page<Connection>>('GET', `/v1/organizations/${enc(organizationId)}/connections`),
    createConnection: (organizationId: string, body: NewConnection) =>
      call<Connection>('POST', `/v1/organizations/${enc(organizationId)}/connections`, body),
    deleteConnection: (organizationId: string, connectionId: string) =>
      call<void>('DELETE', `/v1/organizations/${enc(organizationId)}/connections/${enc(connectionId)}`),
    /** The project's own connections (social sign-in): organization_id is null. */
    projectConnections: () => call<Page<Connection>>('GET', '/v1/connections'),
    createProjectConnection: (body: NewProjectConnection) => call<Connection>('POST', '/v1/connections', body),
    deleteProjectConnection: (id: string) => call<void>('DELETE', `/v1/connections/${enc(id)}`),
    /** The organization's claimed domains (the first 100), verified or not. */
    domains: (organizationId: string) =>
      call<Page<OrganizationDomain>>('GET', `/v1/organizations/${enc(organizationId)}/domains?limit=100`),
  };
}

export type ProjectApi = ReturnType<typeof projectApi>;

/** The console sign-in by email: a link (and code `csl_…`) is mailed, the code is traded for a token. */
export const signIn = {
  requestLink: (email: string) => callWith<{ accepted: boolean }>('POST', '/v1/session/sign-in', '', { email }),
  verify: (code: string) => callWith<{ token: string }>('POST', '/v1/session/sign-in/verify', '', { token: code }),
};

/** A message for people, from whatever was thrown. */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
