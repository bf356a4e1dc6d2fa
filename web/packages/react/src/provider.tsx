import { createAuthio, type AuthioClient, type AuthioOptions } from '@authio/js';
import { createContext, useEffect, useMemo, useRef, useSyncExternalStore, type ReactNode } from 'react';
import { AuthioStore } from './store.js';

export const StoreContext = createContext<AuthioStore | null>(null);

interface CommonProps {
  children?: ReactNode;
  /**
   * The organization this tab should work in (e.g. from the URL). Once signed in, the
   * provider switches to it when the tab is in another context; it tries once per
   * session and value, so a refused switch (`not_a_member`) shows in
   * `useSwitchOrganization().error` and is not retried in a loop.
   */
  organizationId?: string | undefined;
}

export type AuthioProviderProps = CommonProps &
  (
    | { /** A client from `createAuthio(...)`. */ client: AuthioClient; options?: undefined }
    | { /** Options for a client the provider creates once (later changes are ignored). */ options: AuthioOptions; client?: undefined }
  );

/**
 * Holds an Authio client and this tab's session state for the hooks and components
 * below it. The state follows the client's events (`signedIn`, `tokenRefreshed`,
 * `contextDropped`, `signedOut`), switches made through `useSwitchOrganization`, and
 * other tabs' writes to the shared storage.
 */
export function AuthioProvider(props: AuthioProviderProps) {
  const { organizationId, children } = props;
  const own = useRef<AuthioClient | null>(null);
  if (!props.client && !own.current) own.current = createAuthio(props.options);
  const client = props.client ?? own.current!;
  const store = useMemo(() => new AuthioStore(client), [client]);
  useEffect(() => store.connect(), [store]);

  const snap = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getServerSnapshot);
  const { isSignedIn, sessionId, organizationId: current } = snap.session;
  const pending = snap.switching.pendingOrganizationId;
  const tried = useRef<string | null>(null);
  useEffect(() => {
    if (organizationId === undefined || !isSignedIn || current === organizationId || pending !== null) return;
    const attempt = `${sessionId}|${organizationId}`;
    if (tried.current === attempt) return;
    tried.current = attempt;
    void store.switchOrganization(organizationId);
  }, [store, organizationId, isSignedIn, sessionId, current, pending]);

  return <StoreContext.Provider value={store}>{children}</StoreContext.Provider>;
}
