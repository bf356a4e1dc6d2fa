import { useState } from 'react';
import { userApi } from '../lib/api';
import { describeError } from '../lib/errors';
import type { Tokens } from '../lib/tokens';
import { createCredential, passkeysAvailable } from '../lib/webauthn';
import { Alert } from './Frame';

/** Register a passkey for the signed-in user (registration start, navigator.credentials.create, finish). */
export function AddPasskey({ tokens }: { tokens: Tokens }) {
  const [busy, setBusy] = useState(false);
  const [added, setAdded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!passkeysAvailable()) return null;

  const add = async () => {
    setBusy(true);
    setError(null);
    try {
      const token = await tokens.accessToken();
      const start = await userApi.registrationStart(token);
      const credential = await createCredential(start.options);
      await userApi.registrationFinish(token, start.ceremony_id, credential);
      setAdded(true);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="passkey-box">
      <button type="button" className="secondary" onClick={() => void add()} disabled={busy}>
        {busy ? 'Waiting for your passkey…' : 'Add a passkey'}
      </button>
      <p role="status" className="ok">
        {added ? 'Passkey added. Next time you can sign in with it instead of an email link.' : ''}
      </p>
      <Alert>{error}</Alert>
    </div>
  );
}
