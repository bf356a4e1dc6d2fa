import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, userApi } from '../lib/api';
import { describeError, isStepUp, stepUpReason } from '../lib/errors';
import { Tokens } from '../lib/tokens';
import { getAssertion } from '../lib/webauthn';
import { Alert } from './Frame';
import { Heading } from './Heading';

interface Props {
  /** The session's tokens (any context of it) to switch with. */
  base: Tokens;
  organizationId: string;
  name: string;
  onEntered: (tokens: Tokens) => void;
  /** Back to the chooser (or away); null hides the button. */
  onBack: (() => void) | null;
  backLabel: string;
}

type State = { kind: 'switching' } | { kind: 'step-up'; error: ApiError } | { kind: 'failed'; message: string };

/**
 * Switch the session into an organization (`POST /v1/sessions/switch-org`). When the
 * organization's policy asks for a passkey (`403 step_up_required`), prompt for one
 * (`/v1/sessions/step-up/passkey/start` and `/finish`), then switch again.
 */
export function EnterOrganization({ base, organizationId, name, onEntered, onBack, backLabel }: Props) {
  const [state, setState] = useState<State>({ kind: 'switching' });
  const [busy, setBusy] = useState(false);
  const [stepUpError, setStepUpError] = useState<string | null>(null);
  // The latest callback, so that a parent's new function does not switch again.
  const entered = useRef(onEntered);
  entered.current = onEntered;

  const attempt = useCallback(async () => {
    setState({ kind: 'switching' });
    try {
      const answer = await userApi.switchOrg(await base.accessToken(), organizationId);
      entered.current(new Tokens(answer));
    } catch (e) {
      if (isStepUp(e)) setState({ kind: 'step-up', error: e });
      else setState({ kind: 'failed', message: describeError(e) });
    }
  }, [base, organizationId]);

  useEffect(() => {
    void attempt();
  }, [attempt]);

  const stepUp = async () => {
    setBusy(true);
    setStepUpError(null);
    try {
      const token = await base.accessToken();
      const start = await userApi.stepUpStart(token);
      const credential = await getAssertion(start.options);
      await userApi.stepUpFinish(token, start.ceremony_id, credential);
    } catch (e) {
      setStepUpError(describeError(e));
      setBusy(false);
      return;
    }
    setBusy(false);
    await attempt();
  };

  const back = onBack ? (
    <button type="button" className="secondary" onClick={onBack} disabled={busy}>
      {backLabel}
    </button>
  ) : null;

  switch (state.kind) {
    case 'switching':
      return (
        <>
          <Heading>Opening {name}</Heading>
          <p role="status">Opening {name}…</p>
        </>
      );
    case 'step-up':
      return (
        <>
          <Heading>Confirm it’s you</Heading>
          <p>
            <strong>{name}</strong> asks you to confirm with a passkey before you continue. {stepUpReason(state.error)}
          </p>
          <div className="actions">
            <button type="button" onClick={() => void stepUp()} disabled={busy}>
              {busy ? 'Waiting for your passkey…' : 'Confirm with a passkey'}
            </button>
            {back}
          </div>
          <Alert>{stepUpError}</Alert>
        </>
      );
    case 'failed':
      return (
        <>
          <Heading>{name} could not be opened</Heading>
          <Alert>{state.message}</Alert>
          <div className="actions">
            <button type="button" onClick={() => void attempt()}>
              Try again
            </button>
            {back}
          </div>
        </>
      );
  }
}
