import { ApiError, describeError } from './api';

/**
 * What to tell people about a failed project call, or null for a 401: that means the
 * dashboard key stopped working, which the key's own handler reports (once, with what
 * to do) when it drops the key.
 */
export function failure(e: unknown): string | null {
  if (e instanceof ApiError && e.status === 401) return null;
  return describeError(e);
}
