import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { Alert, Frame } from './components/Frame';
import { Heading } from './components/Heading';
import { ApiError, publicApi, userApi, type Project, type SessionAnswer } from './lib/api';
import { describeError } from './lib/errors';
import { pageOf, parseParams, type PageName } from './lib/query';
import { Tokens } from './lib/tokens';
import { InvitationPage } from './pages/InvitationPage';
import { MagicLinkPage } from './pages/MagicLinkPage';
import { OrgAdminPage } from './pages/OrgAdminPage';
import type { PageProps } from './pages/props';
import { SignInPage } from './pages/SignInPage';
import { SsoReturnPage } from './pages/SsoReturnPage';

type Loaded = { kind: 'loading' } | { kind: 'failed'; message: string } | { kind: 'ready'; project: Project };

const here = () => ({ path: window.location.pathname, search: window.location.search });

const TITLES: Record<PageName, string> = {
  home: 'Sign in',
  'sign-in': 'Sign in',
  'magic-link': 'Signing in',
  invitation: 'Invitation',
  'org-admin': 'Manage your organization',
  sso: 'Signing in',
};

/**
 * The hosted pages: one app, routed by path under /hosted/. The project comes from the
 * publishable key `pk` of the query (its name brands the page); the session's tokens are
 * kept in this page's memory only, so a reload signs out. A magic link's token was taken
 * out of the address before the app started (main.tsx, `takeMagicLinkToken`) and comes
 * in as `magicLinkToken`, for /hosted/magic-link only; an SSO return's handoff code
 * likewise (`takeSsoCode`) as `ssoCode`, for /hosted/sso only.
 */
export function App({ magicLinkToken = null, ssoCode = null }: { magicLinkToken?: string | null; ssoCode?: string | null }) {
  const [loc, setLoc] = useState(here);
  const [tokens, setTokens] = useState<Tokens | null>(null);
  const page = pageOf(loc.path);
  const params = useMemo(
    () => ({ ...parseParams(loc.search), token: page === 'magic-link' ? magicLinkToken : null }),
    [loc.search, page, magicLinkToken],
  );
  const [loaded, setLoaded] = useState<Loaded>({ kind: 'loading' });
  const pk = params.pk;

  useEffect(() => {
    const onPop = () => setLoc(here());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  useEffect(() => {
    if (!pk) {
      setLoaded({ kind: 'failed', message: 'This page was opened without the project’s publishable key (pk).' });
      return;
    }
    let live = true;
    setLoaded({ kind: 'loading' });
    publicApi(pk)
      .project()
      .then(
        (project) => live && setLoaded({ kind: 'ready', project }),
        (e: unknown) =>
          live &&
          setLoaded({
            kind: 'failed',
            message:
              e instanceof ApiError && e.status === 401
                ? 'This page’s project key (pk) is not valid.'
                : describeError(e),
          }),
      );
    return () => {
      live = false;
    };
  }, [pk]);

  const project = loaded.kind === 'ready' ? loaded.project : null;
  useEffect(() => {
    const title = page ? TITLES[page] : 'Page not found';
    document.title = project ? `${title} · ${project.name}` : title;
  }, [page, project]);

  const onSignedIn = useCallback((answer: SessionAnswer, next?: string) => {
    setTokens(new Tokens(answer));
    if (next) {
      history.replaceState(null, '', next);
      setLoc(here());
    }
  }, []);

  const goTo = useCallback((next: string) => {
    history.replaceState(null, '', next);
    setLoc(here());
  }, []);

  const onSignOut = useCallback(() => {
    const t = tokens;
    setTokens(null);
    if (t) void t.accessToken().then((token) => userApi.signOut(token)).catch(() => undefined);
  }, [tokens]);

  let body: ReactNode;
  if (page === null) {
    body = (
      <>
        <Heading>Page not found</Heading>
        <p>There is no page at this address.</p>
      </>
    );
  } else if (page === 'home') {
    body = (
      <>
        <Heading>Sign-in pages</Heading>
        <p>These pages are opened by apps that sign their users in here. Go back to the app you came from.</p>
      </>
    );
  } else if (loaded.kind === 'failed') {
    body = (
      <>
        <Heading>This page cannot be used</Heading>
        <Alert>{loaded.message}</Alert>
        <p>Go back to the app you came from and try again.</p>
      </>
    );
  } else if (loaded.kind === 'loading' || !pk) {
    body = <p role="status">Loading…</p>;
  } else {
    const props: PageProps = { pk, project: loaded.project, params, search: loc.search, tokens, onSignedIn, onSignOut };
    switch (page) {
      case 'sign-in':
        body = <SignInPage {...props} />;
        break;
      case 'magic-link':
        body = <MagicLinkPage {...props} />;
        break;
      case 'invitation':
        body = <InvitationPage {...props} />;
        break;
      case 'org-admin':
        body = <OrgAdminPage {...props} />;
        break;
      case 'sso':
        body = <SsoReturnPage {...props} code={ssoCode} onReturn={goTo} />;
        break;
    }
  }
  return (
    <Frame project={project} wide={page === 'org-admin' && tokens !== null}>
      {body}
    </Frame>
  );
}
