import { Fragment, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { consoleApi, describeError, type Home as HomeData, type Tenant } from './lib/api';
import { takeAllKeys } from './lib/dashboardKeys';
import { href, navigate, routeId, sectionOf, useRoute, type Route, type Section } from './lib/router';
import { clearToken, loadToken, saveToken, tokenFromHash } from './lib/session';
import { ConsoleContext, type ConsoleState } from './context';
import { SignIn } from './pages/SignIn';
import { Home } from './pages/Home';
import { NewTenant } from './pages/NewTenant';
import { Organizations } from './pages/Organizations';
import { ApiKeys } from './pages/ApiKeys';
import { Settings } from './pages/Settings';
import { Users } from './pages/Users';
import { UserDetail } from './pages/UserDetail';
import { Webhooks } from './pages/Webhooks';
import { WebhookDetail } from './pages/WebhookDetail';
import { AuditLog } from './pages/AuditLog';
import { OAuthClients } from './pages/OAuthClients';
import { SocialConnections } from './pages/SocialConnections';
import { OrganizationDetail } from './pages/OrganizationDetail';

export function App() {
  const [token, setToken] = useState(loadToken);
  const [notice, setNotice] = useState<string | null>(null);

  const signedIn = useCallback((t: string) => {
    saveToken(t);
    setNotice(null);
    setToken(t);
    if (!window.location.hash) navigate('/');
  }, []);

  const signedOut = useCallback((why: string | null) => {
    clearToken();
    setNotice(why);
    setToken(null);
  }, []);

  // `#token=cs_…` opened in a tab that already runs the dashboard (a same-document navigation).
  useEffect(() => {
    const onHash = () => {
      const t = tokenFromHash(window.location.hash);
      if (!t) return;
      history.replaceState(null, '', `${window.location.pathname}${window.location.search}#/`);
      signedIn(t);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, [signedIn]);

  if (!token) return <SignIn notice={notice} onSignedIn={signedIn} />;
  return <Console token={token} onSignedOut={signedOut} />;
}

const NAV: ReadonlyArray<{ route: Section; label: string }> = [
  { route: '/', label: 'Home' },
  { route: '/organizations', label: 'Organizations' },
  { route: '/users', label: 'Users' },
  { route: '/webhooks', label: 'Webhooks' },
  { route: '/oauth-clients', label: 'OAuth clients' },
  { route: '/social-connections', label: 'Social sign-in' },
  { route: '/audit', label: 'Audit log' },
  { route: '/api-keys', label: 'API keys' },
  { route: '/settings', label: 'Settings' },
  { route: '/tenants/new', label: 'New tenant' },
];

function Console({ token, onSignedOut }: { token: string; onSignedOut: (why: string | null) => void }) {
  const api = useMemo(
    () => consoleApi(token, () => onSignedOut('Your console session has ended. Sign in again.')),
    [token, onSignedOut],
  );
  const [home, setHome] = useState<HomeData | null>(null);
  const [tenants, setTenants] = useState<Tenant[]>([]);
  const [error, setError] = useState<string | null>(null);
  const route = useRoute();

  const reload = useCallback(async () => {
    const [h, t] = await Promise.all([api.home(), api.tenants()]);
    setHome(h);
    setTenants(t.data);
  }, [api]);

  useEffect(() => {
    reload().catch((e: unknown) => setError(describeError(e)));
  }, [reload]);

  // After a navigation, move focus to the new page's heading (not on the first render).
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [route]);

  const [signingOut, setSigningOut] = useState(false);
  const signOut = async () => {
    setSigningOut(true);
    // Best effort: revoke the dashboard keys this tab created for the project pages.
    await Promise.allSettled(takeAllKeys().map((k) => api.revokeApiKey(k.tenantId, k.keyId)));
    // Then end the console session itself (best effort: the tab forgets the token anyway).
    await Promise.allSettled([api.signOut()]);
    onSignedOut(null);
  };

  const selectTenant = async (id: string) => {
    try {
      await api.selectTenant(id);
      await reload();
    } catch (e) {
      setError(describeError(e));
    }
  };

  const state: ConsoleState | null = home ? { api, home, tenants, reload } : null;
  const active = home?.tenant ?? null;

  return (
    <>
      <button type="button" className="skip-link" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header className="topbar">
        <span className="brand">Authio</span>
        {tenants.length > 0 ? (
          <label className="tenant-picker">
            Tenant
            <select value={active?.id ?? ''} onChange={(e) => void selectTenant(e.target.value)}>
              {active ? null : <option value="">Choose a tenant</option>}
              {tenants.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <span className="spacer" />
        {home ? <span className="operator">{home.operator.email}</span> : null}
        <button type="button" onClick={() => void signOut()} disabled={signingOut}>
          {signingOut ? 'Signing out…' : 'Sign out'}
        </button>
      </header>
      <nav aria-label="Main" className="nav">
        <ul>
          {NAV.map((n) => (
            <li key={n.route}>
              <a href={href(n.route)} aria-current={route && sectionOf(route) === n.route ? 'page' : undefined}>
                {n.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {error ? (
          <p role="alert" className="error">
            {error}
          </p>
        ) : null}
        {state ? (
          <ConsoleContext.Provider value={state}>
            {/* A page starts afresh when the active tenant changes. */}
            <Fragment key={active?.id ?? 'none'}>{page(route)}</Fragment>
          </ConsoleContext.Provider>
        ) : error ? null : (
          <p aria-live="polite">Loading…</p>
        )}
      </main>
    </>
  );
}

function page(route: Route | null): ReactNode {
  if (route === null) {
    return (
      <>
        <h1 tabIndex={-1}>Page not found</h1>
        <p>
          <a href={href('/')}>Go to the home page</a>
        </p>
      </>
    );
  }
  const userId = routeId(route, '/users');
  if (userId) return <UserDetail key={userId} id={userId} />;
  const endpointId = routeId(route, '/webhooks');
  if (endpointId) return <WebhookDetail key={endpointId} id={endpointId} />;
  const organizationId = routeId(route, '/organizations');
  if (organizationId) return <OrganizationDetail key={organizationId} id={organizationId} />;
  switch (sectionOf(route)) {
    case '/':
      return <Home />;
    case '/tenants/new':
      return <NewTenant />;
    case '/organizations':
      return <Organizations />;
    case '/users':
      return <Users />;
    case '/webhooks':
      return <Webhooks />;
    case '/oauth-clients':
      return <OAuthClients />;
    case '/social-connections':
      return <SocialConnections />;
    case '/audit':
      return <AuditLog />;
    case '/api-keys':
      return <ApiKeys />;
    case '/settings':
      return <Settings />;
  }
}
