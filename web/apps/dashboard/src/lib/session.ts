// The operator's console token (cs_…), kept in sessionStorage: it lives as long as the
// tab and is not shared with other tabs. `#token=cs_…` in the URL signs in directly
// (for tests and scripts); `?token=csl_…` is an emailed sign-in code to trade in.

const KEY = 'authio.console_token';

export function isConsoleToken(value: string): boolean {
  return /^cs_[A-Za-z0-9_-]+$/.test(value);
}

export function isSignInCode(value: string): boolean {
  return /^csl_[A-Za-z0-9_-]+$/.test(value);
}

/** The token named by a `#token=…` fragment, if any. */
export function tokenFromHash(hash: string): string | null {
  const h = hash.startsWith('#') ? hash.slice(1) : hash;
  if (!h.startsWith('token=')) return null;
  const value = new URLSearchParams(h).get('token');
  return value && isConsoleToken(value) ? value : null;
}

/** The emailed sign-in code named by `?token=csl_…`, if any. */
export function codeFromSearch(search: string): string | null {
  const value = new URLSearchParams(search).get('token');
  return value && isSignInCode(value) ? value : null;
}

export function loadToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}
