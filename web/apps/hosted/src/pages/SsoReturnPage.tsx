import { useEffect, useState } from 'react';
import { Alert } from '../components/Frame';
import { Heading } from '../components/Heading';
import { publicApi, type SessionAnswer } from '../lib/api';
import { describeError } from '../lib/errors';
import { isHandoffCode } from '../lib/query';
import { afterSso, setPendingSignIn, ssoReturn, takeVerifier } from '../lib/sso';
import type { PageProps } from './props';

/** One redemption per code in this page's life (a handoff code works once). */
const redemptions = new Map<string, Promise<SessionAnswer>>();

/** What the page shows for the server's `error=sso_failed` and the like. */
const FAILED = 'Your organization’s sign-in did not sign you in.';

/**
 * /hosted/sso?…&code=hc_…&state=KEY: where an SSO sign-in these pages started comes back
 * (lib/sso.ts). The code is in `code` only: it left the address at startup (main.tsx).
 * It is redeemed with the verifier this tab kept under `state`, never without; the
 * session then waits for the page the flow started on (`onReturn`), whose form takes it
 * as a sign-in of its own.
 */
export function SsoReturnPage({ pk, search, code, onReturn }: PageProps & { code: string | null; onReturn: (next: string) => void }) {
  const [error, setError] = useState<string | null>(null);
  const next = afterSso(search);

  useEffect(() => {
    const { key, error: refused, description } = ssoReturn(search);
    if (refused) {
      takeVerifier(key);
      setError(description ? `${FAILED} ${description}` : FAILED);
      return;
    }
    let p = code ? redemptions.get(code) : undefined;
    if (!p) {
      const verifier = takeVerifier(key);
      if (!isHandoffCode(code) || verifier === null) {
        setError('This sign-in was not started here, or took too long. Start signing in again.');
        return;
      }
      p = publicApi(pk).exchangeHandoff(code, verifier);
      redemptions.set(code, p);
    }
    let live = true;
    p.then(
      (answer) => {
        if (!live) return;
        setPendingSignIn(answer);
        onReturn(next);
      },
      (e: unknown) => live && setError(describeError(e)),
    );
    return () => {
      live = false;
    };
    // Once per page load: the code and the key come from the URL the page was opened with.
  }, []);

  if (error) {
    return (
      <>
        <Heading>Single sign-on did not work</Heading>
        <Alert>{error}</Alert>
        <p>
          <a href={next}>Start signing in again</a>
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
