// The dashboard's calls to the Authio API, on the same origin (relative /v1/... URLs).
// Console routes take the operator's console token (cs_…); the organization routes take
// a project secret key (sk_…), which the dashboard only ever holds in memory.
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
  };
}

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
