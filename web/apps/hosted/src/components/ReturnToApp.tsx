import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../lib/api';
import { describeError } from '../lib/errors';
import { leaveTo } from '../lib/navigate';
import type { Return } from '../lib/returns';
import type { Tokens } from '../lib/tokens';
import { Alert } from './Frame';
import { Heading } from './Heading';

/** Codes a retry cannot fix: the app's request itself is refused. */
const FINAL = new Set(['redirect_not_allowed', 'invalid_request', 'invalid_authorization_request']);

/**
 * Back to the app: the URL `to` makes from the server's answer for this context (a
 * handoff code, or an OAuth authorization code), then the page leaves for it.
 */
export function ReturnToApp({ tokens, to, onBack }: { tokens: Tokens; to: Return; onBack: (() => void) | null }) {
  const [error, setError] = useState<{ message: string; final: boolean } | null>(null);
  const started = useRef(false);

  const go = useCallback(async () => {
    setError(null);
    try {
      leaveTo(await to.url(await tokens.accessToken()));
    } catch (e) {
      setError({
        message: describeError(e, { redirectUrl: to.redirectUrl }),
        final: e instanceof ApiError && FINAL.has(e.code),
      });
    }
  }, [tokens, to]);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    void go();
  }, [go]);

  if (!error) {
    return (
      <>
        <Heading>Returning to {to.name}</Heading>
        <p role="status">Signed in. Returning you to {to.name}…</p>
      </>
    );
  }
  return (
    <>
      <Heading>You could not be returned to {to.name}</Heading>
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
