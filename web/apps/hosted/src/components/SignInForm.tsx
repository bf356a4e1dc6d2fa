import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, publicApi, type Project, type SessionAnswer } from '../lib/api';
import { describeError } from '../lib/errors';
import { magicLinkUrl, type Flow } from '../lib/query';
import { getAssertion, passkeysAvailable } from '../lib/webauthn';
import { Alert } from './Frame';
import { Heading } from './Heading';

interface Props {
  pk: string;
  project: Project;
  /** The page's query string, carried through the mailed link. */
  search: string;
  /** The page the flow started on; the magic link comes back to it. */
  flow: Flow;
  /** The email to prefill (`login_hint`, or the invitation's). */
  email: string | null;
  title: ReactNode;
  /** Shown above the form (an invitation's preview). */
  intro?: ReactNode;
  /** Awaited: the form stays busy (its buttons disabled) until it settles. */
  onSignedIn: (answer: SessionAnswer) => void | Promise<void>;
}

/** Whether an error is the email field's (the API's `invalid_request` naming `email`). */
export function isEmailError(e: unknown): boolean {
  return e instanceof ApiError && e.field === 'email';
}

/** Sign in by an emailed link (it comes back to /hosted/magic-link) or with a passkey. */
export function SignInForm({ pk, project, search, flow, email: hint, title, intro, onSignedIn }: Props) {
  const api = publicApi(pk);
  const [email, setEmail] = useState(hint ?? '');
  const [sent, setSent] = useState<string | null>(null);
  const [busy, setBusy] = useState<'link' | 'passkey' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [emailInvalid, setEmailInvalid] = useState(false);
  const emailId = useId();
  const hintId = useId();
  const errorId = useId();

  const sendLink = async (e: FormEvent) => {
    e.preventDefault();
    setBusy('link');
    setError(null);
    setEmailInvalid(false);
    try {
      await api.sendMagicLink(email.trim(), magicLinkUrl(window.location.origin, search, flow));
      setSent(email.trim());
    } catch (err) {
      setError(describeError(err));
      setEmailInvalid(isEmailError(err));
    } finally {
      setBusy(null);
    }
  };

  const passkey = async () => {
    setBusy('passkey');
    setError(null);
    setEmailInvalid(false);
    try {
      const start = await api.passkeyStart();
      const credential = await getAssertion(start.options);
      await onSignedIn(await api.passkeyFinish(start.ceremony_id, credential));
    } catch (err) {
      setError(describeError(err));
    } finally {
      // Whatever the page did with the sign-in (or failed to), the buttons work again.
      setBusy(null);
    }
  };

  if (sent !== null) {
    return (
      <>
        <Heading>Check your email</Heading>
        <p role="status">
          We sent a sign-in link for {project.name} to <strong>{sent}</strong>. Open it in this browser: it works once
          and expires in 15 minutes.
        </p>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setSent(null);
            setError(null);
          }}
        >
          Use another email address
        </button>
      </>
    );
  }

  return (
    <>
      <Heading>{title}</Heading>
      {intro}
      <form onSubmit={(e) => void sendLink(e)}>
        <label htmlFor={emailId}>Email</label>
        <input
          id={emailId}
          type="email"
          name="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          aria-invalid={emailInvalid || undefined}
          aria-describedby={emailInvalid && error ? `${hintId} ${errorId}` : hintId}
        />
        <p id={hintId} className="hint">
          We will email you a link that signs you in.
        </p>
        <button type="submit" disabled={busy !== null}>
          {busy === 'link' ? 'Sending…' : 'Email me a sign-in link'}
        </button>
      </form>
      {passkeysAvailable() ? (
        <>
          <p className="or">
            <span>or</span>
          </p>
          <button type="button" className="secondary block" onClick={() => void passkey()} disabled={busy !== null}>
            {busy === 'passkey' ? 'Waiting for your passkey…' : 'Sign in with a passkey'}
          </button>
        </>
      ) : null}
      <Alert id={errorId}>{error}</Alert>
    </>
  );
}
