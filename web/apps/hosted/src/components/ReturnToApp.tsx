import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, userApi } from '../lib/api';
import { describeError } from '../lib/errors';
import { leaveTo } from '../lib/navigate';
import { appHost, isHandoffCode, returnUrl, type Handoff } from '../lib/query';
import type { Tokens } from '../lib/tokens';
import { Alert } from './Frame';
import { Heading } from './Heading';

/** Codes a retry cannot fix: the app's request itself is refused. */
const FINAL = new Set(['redirect_not_allowed', 'invalid_request']);

/**
 * Back to the app: a handoff code bound to this context (`POST /v1/auth/handoffs`, with
 * the app's PKCE challenge), then the app's redirect URL with `code` and `state`.
 */
export function ReturnToApp({
  pk,
  tokens,
  handoff,
  onBack,
}: {
  pk: string;
  tokens: Tokens;
  handoff: Handoff;
  onBack: (() => void) | null;
}) {
  const [error, setError] = useState<{ message: string; final: boolean } | null>(null);
  const started = useRef(false);

  const go = useCallback(async () => {
    setError(null);
    try {
      const token = await tokens.accessToken();
      const answer: { code?: unknown } | undefined = await userApi.createHandoff(
        token,
        pk,
        handoff.redirectUrl,
        handoff.codeChallenge,
      );
      // Only a handoff code is ever appended to the app's URL.
      if (!isHandoffCode(answer?.code)) {
        setError({
          message: 'The sign-in service did not answer with a sign-in code for the app. Try again.',
          final: false,
        });
        return;
      }
      leaveTo(returnUrl(handoff, answer.code));
    } catch (e) {
      setError({
        message: describeError(e, { redirectUrl: handoff.redirectUrl }),
        final: e instanceof ApiError && FINAL.has(e.code),
      });
    }
  }, [pk, tokens, handoff]);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    void go();
  }, [go]);

  const host = appHost(handoff);
  if (!error) {
    return (
      <>
        <Heading>Returning to {host}</Heading>
        <p role="status">Signed in. Returning you to {host}…</p>
      </>
    );
  }
  return (
    <>
      <Heading>You could not be returned to {host}</Heading>
      <Alert>{error.message}</Alert>
      <div className="actions">
        {error.final ? null : (
          <button type="button" onClick={() => void go()}>
            Try again
          </button>
        )}
        {onBack ? (
          <button type="button" className="secondary" onClick={onBack}>
            Choose another organization
          </button>
        ) : null}
      </div>
    </>
  );
}
