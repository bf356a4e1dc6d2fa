import { useEffect, useMemo, useState } from 'react';
import { Continue } from '../components/Continue';
import { Alert } from '../components/Frame';
import { Heading } from '../components/Heading';
import { SignInForm } from '../components/SignInForm';
import { oauthApi, type AuthorizationRequest } from '../lib/api';
import { describeError } from '../lib/errors';
import { selectsAccount } from '../lib/flow';
import { leaveTo } from '../lib/navigate';
import { redirectOrigin } from '../lib/query';
import { authorizationReturn, denyUrl } from '../lib/returns';
import type { PageProps } from './props';

type Loaded = { kind: 'loading' } | { kind: 'failed'; message: string } | { kind: 'ready'; client: AuthorizationRequest };

/**
 * /hosted/sign-in?authorization=…&pk=…: an OAuth client's sign-in, sent here by the
 * server's /oauth2/authorize. The request (`GET /v1/oauth2/requests/{request}`) names the
 * client and where it returns; the user signs in as on any sign-in (the magic link
 * carries the whole query through the mail), chooses the organization (the request's
 * `organization` preselects, `prompt=select_account` always offers the chooser; step-up
 * as usual), and the page grants the request for that context and follows the server's
 * `redirect_to`. **Cancel** denies it: back to the client with `error=access_denied`.
 */
export function AuthorizationPage({
  pk,
  project,
  params,
  search,
  tokens,
  onSignedIn,
  onSignOut,
  request,
}: PageProps & { request: string }) {
  const [loaded, setLoaded] = useState<Loaded>({ kind: 'loading' });

  useEffect(() => {
    let live = true;
    setLoaded({ kind: 'loading' });
    oauthApi.request(request).then(
      (client) =>
        live &&
        setLoaded(
          typeof client?.client_name === 'string' && typeof client.redirect_uri === 'string'
            ? { kind: 'ready', client }
            : { kind: 'failed', message: 'The sign-in service answered something unexpected. Try again.' },
        ),
      (e: unknown) => live && setLoaded({ kind: 'failed', message: describeError(e) }),
    );
    return () => {
      live = false;
    };
  }, [request]);

  const to = useMemo(() => (loaded.kind === 'ready' ? authorizationReturn(request, loaded.client) : null), [loaded, request]);

  if (loaded.kind === 'loading') return <p role="status">Loading…</p>;
  if (loaded.kind === 'failed' || !to) {
    return (
      <>
        <Heading>This sign-in request cannot be used</Heading>
        <Alert>{loaded.kind === 'failed' ? loaded.message : null}</Alert>
        <p>Go back to the app and start signing in again.</p>
      </>
    );
  }
  const { client } = loaded;
  return (
    <>
      {tokens ? (
        <Continue
          base={tokens}
          to={to}
          preselect={client.organization ?? params.organization}
          choose={selectsAccount(client.prompt)}
          onSignOut={onSignOut}
        />
      ) : (
        <SignInForm
          pk={pk}
          project={project}
          search={search}
          flow="sign-in"
          email={client.login_hint ?? params.loginHint}
          title={`Sign in to continue to ${client.client_name}`}
          intro={
            <p>
              After you sign in, you return to <strong>{redirectOrigin(client.redirect_uri)}</strong>.
            </p>
          }
          onSignedIn={(answer) => onSignedIn(answer)}
        />
      )}
      <Cancel request={request} client={client} />
    </>
  );
}

/** Deny the request (`POST /v1/oauth2/authorizations/deny`) and follow the server's way back. */
function Cancel({ request, client }: { request: string; client: AuthorizationRequest }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const cancel = async () => {
    setBusy(true);
    setError(null);
    try {
      // Busy until the page is gone.
      leaveTo(await denyUrl(request, client));
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  };

  return (
    <>
      <div className="actions">
        <button type="button" className="secondary" onClick={() => void cancel()} disabled={busy}>
          {busy ? 'Cancelling…' : 'Cancel'}
        </button>
      </div>
      <Alert>{error}</Alert>
    </>
  );
}
