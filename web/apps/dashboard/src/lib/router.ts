// A hash router: `#/settings` and the like. The files are served as they are (no
// fallback to index.html needed for deep links or reloads).
import { useEffect, useState } from 'react';

export type Route = '/' | '/tenants/new' | '/organizations' | '/api-keys' | '/settings';

const ROUTES: readonly Route[] = ['/', '/tenants/new', '/organizations', '/api-keys', '/settings'];

export function parseRoute(hash: string): Route | null {
  const path = (hash.startsWith('#') ? hash.slice(1) : hash) || '/';
  if (path.startsWith('token=')) return '/'; // a sign-in fragment, replaced by '#/' at once
  return (ROUTES as readonly string[]).includes(path) ? (path as Route) : null;
}

export function href(route: Route): string {
  return `#${route}`;
}

export function navigate(route: Route): void {
  window.location.hash = route;
}

export function useRoute(): Route | null {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
