// A hash router: `#/settings`, `#/users/user_…`, `#/audit?action=…` and the like. The
// files are served as they are (no fallback to index.html needed for deep links or
// reloads). A page's filters ride in the hash's query, so Back and reload keep them.
import { useEffect, useState } from 'react';

/** The pages of the main navigation. */
export type Section =
  | '/'
  | '/tenants/new'
  | '/organizations'
  | '/users'
  | '/webhooks'
  | '/oauth-clients'
  | '/social-connections'
  | '/audit'
  | '/api-keys'
  | '/settings';

/** A section, or one user's, one webhook endpoint's or one organization's page. */
export type Route = Section | `/users/${string}` | `/webhooks/${string}` | `/organizations/${string}`;

/** The sections whose items have a page of their own (`/users/{id}`). */
export type ItemSection = '/users' | '/webhooks' | '/organizations';

const SECTIONS: readonly Section[] = [
  '/',
  '/tenants/new',
  '/organizations',
  '/users',
  '/webhooks',
  '/oauth-clients',
  '/social-connections',
  '/audit',
  '/api-keys',
  '/settings',
];

const ID = /^[A-Za-z0-9_-]{1,128}$/;

function split(hash: string): [string, string] {
  const h = hash.startsWith('#') ? hash.slice(1) : hash;
  const q = h.indexOf('?');
  return q < 0 ? [h, ''] : [h.slice(0, q), h.slice(q + 1)];
}

export function parseRoute(hash: string): Route | null {
  const [raw] = split(hash);
  const path = raw || '/';
  if (path.startsWith('token=')) return '/'; // a sign-in fragment, replaced by '#/' at once
  if ((SECTIONS as readonly string[]).includes(path)) return path as Section;
  const m = path.match(/^\/(users|webhooks|organizations)\/([^/]+)$/);
  if (m && ID.test(m[2]!)) return path as Route;
  return null;
}

/** The query of the hash (`#/audit?action=x` → action=x). */
export function parseQuery(hash: string): URLSearchParams {
  return new URLSearchParams(split(hash)[1]);
}

/** The section a route belongs to (a user's page is in Users), for the navigation. */
export function sectionOf(route: Route): Section {
  if (route.startsWith('/users/')) return '/users';
  if (route.startsWith('/webhooks/')) return '/webhooks';
  if (route.startsWith('/organizations/')) return '/organizations';
  return route as Section;
}

/** The id in `/users/{id}`, `/webhooks/{id}` or `/organizations/{id}`, or null. */
export function routeId(route: Route, section: ItemSection): string | null {
  return route.startsWith(`${section}/`) ? route.slice(section.length + 1) : null;
}

/**
 * `#/audit?action=x`: the route with the given query; empty or missing values are left
 * out, and the keys keep the order given.
 */
export function href(route: Route, query?: Record<string, string | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v) q.set(k, v);
  const s = q.toString();
  return `#${route}${s ? `?${s}` : ''}`;
}

export function userHref(id: string): string {
  return href(`/users/${id}`);
}

export function webhookHref(id: string): string {
  return href(`/webhooks/${id}`);
}

export function organizationHref(id: string): string {
  return href(`/organizations/${id}`);
}

export function navigate(route: Route, query?: Record<string, string | null | undefined>): void {
  window.location.hash = href(route, query).slice(1);
}

function useHash(): string {
  const [hash, setHash] = useState(() => window.location.hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash);
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}

export function useRoute(): Route | null {
  return parseRoute(useHash());
}

/** The hash's query as text (stable across renders, usable as a key or dependency). */
export function useQueryString(): string {
  return split(useHash())[1];
}
