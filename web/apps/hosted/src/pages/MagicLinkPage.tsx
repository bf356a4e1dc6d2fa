import { useEffect, useState } from 'react';
import { publicApi, type SessionAnswer } from '../lib/api';
import { describeError } from '../lib/errors';
import { afterMagicLink } from '../lib/query';
import { Alert } from '../components/Frame';
import { Heading } from '../components/Heading';
import type { PageProps } from './props';

/** One verification per token in this page's life (a link's token works once). */
const verifications = new Map<string, Promise<SessionAnswer>>();

/**
 * /hosted/magic-link?token=…&<the query of the page the flow started on>: trade the
 * link's token for a session (with the invitation's code when the flow is an
 * invitation's, which accepts it), then continue on that page. The token is in
 * `params.token` only: it left the address bar and history at startup (main.tsx),
 * before any request.
 */
export function MagicLinkPage({ pk, params, search, onSignedIn }: PageProps) {
  const [error, setError] = useState<string | null>(null);
  const next = afterMagicLink(search);

  useEffect(() => {
    const token = params.token;
    if (!token) {
      setError('This link has no sign-in token. Open the link from the email again, or ask for a new one.');
      return;
    }
    let p = verifications.get(token);
    if (!p) {
      p = publicApi(pk).verifyMagicLink(token, params.flow === 'invitation' ? params.invitationCode : null);
      verifications.set(token, p);
    }
    let live = true;
    p.then(
      (answer) => live && onSignedIn(answer, next),
      (e: unknown) => live && setError(describeError(e)),
    );
    return () => {
      live = false;
    };
    // Once per page load: the token and the flow come from the URL the page was opened with.
  }, []);

  if (error) {
    return (
      <>
        <Heading>The sign-in link did not work</Heading>
        <Alert>{error}</Alert>
        <p>
          <a href={next}>Ask for a new sign-in link</a>
        </p>
      </>
    );
  }
  return (
    <>
      <Heading>Signing you in</Heading>
      <p role="status">Signing you in…</p>
    </>
  );
}
