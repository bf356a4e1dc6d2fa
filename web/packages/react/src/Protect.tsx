import type { ReactNode } from 'react';
import { usePermissions, useSession } from './hooks.js';

export interface ProtectProps {
  /** A permission the tab's organization context must have, or several that it must all have. */
  permission?: string | readonly string[] | undefined;
  /** A role it must have, or one of several. */
  role?: string | readonly string[] | undefined;
  /** Shown instead (also while the permissions are not known yet). Default: nothing. */
  fallback?: ReactNode;
  children?: ReactNode;
}

/**
 * Renders its children only when this tab's organization context has the permission
 * (and role, when given); without either, only when signed in. This shapes the UI:
 * the API still checks every request against the token.
 */
export function Protect({ permission, role, fallback = null, children }: ProtectProps) {
  const { isSignedIn } = useSession();
  const p = usePermissions();
  const allowed =
    isSignedIn &&
    p.isLoaded &&
    (permission === undefined || p.has(permission)) &&
    (role === undefined || (p.role !== null && (typeof role === 'string' ? p.role === role : role.includes(p.role))));
  return <>{allowed ? children : fallback}</>;
}

/** Renders its children only while signed in. */
export function SignedIn({ children }: { children?: ReactNode }) {
  return <>{useSession().isSignedIn ? children : null}</>;
}

/** Renders its children only while signed out (not while hydrating server-rendered HTML: it is not known yet). */
export function SignedOut({ children }: { children?: ReactNode }) {
  const { isLoaded, isSignedIn } = useSession();
  return <>{isLoaded && !isSignedIn ? children : null}</>;
}
