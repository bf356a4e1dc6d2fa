import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, consoleApi, describeError, signIn } from '../lib/api';
import { codeFromSearch, isConsoleToken, isSignInCode } from '../lib/session';

interface Props {
  /** Why the operator is here again (their session ended), if so. */
  notice: string | null;
  onSignedIn: (token: string) => void;
}

/**
 * Sign in with a console token (`authio operators token --email …` prints one), or with
 * the code of an emailed sign-in link (`csl_…`, traded for a token). A link that opens
 * the dashboard with `?token=csl_…` is traded in at once.
 */
export function SignIn({ notice, onSignedIn }: Props) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [email, setEmail] = useState('');
  const [mailState, setMailState] = useState<'idle' | 'sending' | 'sent'>('idle');
  const [mailError, setMailError] = useState<string | null>(null);

  useEffect(() => {
    document.title = 'Sign in · Authio dashboard';
  }, []);

  const trade = async (code: string) => {
    const { token } = await signIn.verify(code);
    onSignedIn(token);
  };

  // A sign-in link: /dashboard/?token=csl_…
  const linkCode = useRef(codeFromSearch(window.location.search));
  useEffect(() => {
    const code = linkCode.current;
    if (!code) return;
    linkCode.current = null;
    history.replaceState(null, '', `${window.location.pathname}#/`);
    setBusy(true);
    trade(code).catch((e: unknown) => {
      setBusy(false);
      setError(
        e instanceof ApiError && e.code === 'invalid_token'
          ? 'This sign-in link has expired or was used already. Ask for a new one below.'
          : describeError(e),
      );
    });
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const v = value.trim();
    setError(null);
    if (!isConsoleToken(v) && !isSignInCode(v)) {
      setError('Paste a console token (it starts with cs_) or an emailed sign-in code (csl_…).');
      return;
    }
    setBusy(true);
    try {
      if (isSignInCode(v)) {
        await trade(v);
      } else {
        await consoleApi(v).home(); // the token works: 200, or 401 when unknown, expired or revoked
        onSignedIn(v);
      }
    } catch (err) {
      setBusy(false);
      setError(
        err instanceof ApiError && (err.status === 401 || err.code === 'invalid_token')
          ? 'That token or code was not accepted: it is unknown, expired or already used.'
          : describeError(err),
      );
    }
  };

  const requestLink = async (e: FormEvent) => {
    e.preventDefault();
    setMailError(null);
    setMailState('sending');
    try {
      await signIn.requestLink(email.trim());
      setMailState('sent');
    } catch (err) {
      setMailState('idle');
      setMailError(
        err instanceof ApiError && err.code === 'rate_limited'
          ? 'Too many sign-in requests for this address. Try again later.'
          : describeError(err),
      );
    }
  };

  return (
    <main id="main" className="sign-in">
      <h1>Sign in to the Authio dashboard</h1>
      {notice ? (
        <p role="status" className="notice">
          {notice}
        </p>
      ) : null}
      <form className="card" onSubmit={(e) => void submit(e)} noValidate>
        <h2>With a console token</h2>
        <label htmlFor="console-token">Console token or sign-in code</label>
        <input
          id="console-token"
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          aria-describedby="console-token-hint"
          aria-invalid={error ? true : undefined}
          aria-errormessage={error ? 'console-token-error' : undefined}
          required
        />
        <p id="console-token-hint" className="hint">
          Run <code>authio operators token --email you@example.com</code> on the server and paste the{' '}
          <code>cs_…</code> it prints, or paste the <code>csl_…</code> code from a sign-in email.
        </p>
        {error ? (
          <p id="console-token-error" role="alert" className="error">
            {error}
          </p>
        ) : null}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>

      <form className="card" onSubmit={(e) => void requestLink(e)}>
        <h2>With an email link</h2>
        <label htmlFor="sign-in-email">Email</label>
        <input
          id="sign-in-email"
          name="email"
          type="email"
          autoComplete="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          required
        />
        {mailError ? (
          <p role="alert" className="error">
            {mailError}
          </p>
        ) : null}
        <p role="status" className="hint">
          {mailState === 'sent' ? `A sign-in link is on its way to ${email.trim()}. Open it, or paste its code above.` : ''}
        </p>
        <button type="submit" disabled={mailState === 'sending'}>
          {mailState === 'sending' ? 'Sending…' : 'Email me a sign-in link'}
        </button>
      </form>
    </main>
  );
}
