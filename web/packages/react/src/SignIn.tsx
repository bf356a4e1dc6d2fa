import type { SignedIn } from '@authio/js';
import { useContext, useId, useRef, useState, type FormEvent } from 'react';
import { describeError } from './messages.js';
import { StoreContext } from './provider.js';
import { toError } from './store.js';

export interface SignInLabels {
  /** The form's accessible name. */
  title: string;
  email: string;
  submit: string;
  passkey: string;
  sending: string;
  sent: (email: string) => string;
  passkeyPending: string;
  signedIn: string;
  emailMissing: string;
  emailInvalid: string;
}

const LABELS: SignInLabels = {
  title: 'Sign in',
  email: 'Email address',
  submit: 'Email me a sign-in link',
  passkey: 'Sign in with a passkey',
  sending: 'Sending your sign-in link…',
  sent: (email) => `Check your inbox: a sign-in link is on its way to ${email}. It works once, for 15 minutes.`,
  passkeyPending: 'Waiting for your passkey…',
  signedIn: 'You are signed in.',
  emailMissing: 'Enter your email address.',
  emailInvalid: 'Enter an email address like name@example.com.',
};

export interface SignInProps {
  /** Where the mailed link leads (must be allowed for the project); the link adds `token=…`. */
  redirectUrl?: string | undefined;
  /** Also offer a passkey button (`client.signInWithPasskey()`). */
  passkey?: boolean | undefined;
  onLinkSent?: ((email: string) => void) | undefined;
  /** After a passkey sign-in (a magic link signs in on the page it leads to). */
  onSignedIn?: ((answer: SignedIn) => void) | undefined;
  onError?: ((error: Error) => void) | undefined;
  /** Replaces any of the texts. */
  labels?: Partial<SignInLabels> | undefined;
  /** The sentence shown for a failure; default: by the error's code (`describeError`). */
  formatError?: ((error: Error) => string) | undefined;
  className?: string | undefined;
}

type Phase =
  | { kind: 'idle' }
  | { kind: 'sending' }
  | { kind: 'sent'; email: string }
  | { kind: 'passkey' }
  | { kind: 'signedIn' }
  | { kind: 'error'; message: string; field: boolean };

const EMAIL = /^[^\s@]+@[^\s@]+$/;

/**
 * Sign-in by magic link: an email field with its label, a submit button, and the
 * outcome in a status (or, for a failure, an alert) message. With `passkey`, a second
 * button signs in with a passkey.
 */
export function SignIn(props: SignInProps) {
  const store = useContext(StoreContext);
  if (!store) throw new Error('@authio/react: <SignIn> needs an <AuthioProvider> above it');
  const l = { ...LABELS, ...props.labels };
  const format = props.formatError ?? describeError;
  const id = useId();
  const emailId = `${id}-email`;
  const errorId = `${id}-error`;
  const input = useRef<HTMLInputElement>(null);
  const [email, setEmail] = useState('');
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const busy = phase.kind === 'sending' || phase.kind === 'passkey';

  const fail = (e: unknown) => {
    const error = toError(e);
    setPhase({ kind: 'error', message: format(error), field: false });
    props.onError?.(error);
  };

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (busy) return;
    const address = email.trim();
    if (!EMAIL.test(address)) {
      setPhase({ kind: 'error', message: address ? l.emailInvalid : l.emailMissing, field: true });
      input.current?.focus();
      return;
    }
    setPhase({ kind: 'sending' });
    try {
      await store.client.sendMagicLink(address, props.redirectUrl === undefined ? {} : { redirectUrl: props.redirectUrl });
      setPhase({ kind: 'sent', email: address });
      props.onLinkSent?.(address);
    } catch (e) {
      fail(e);
    }
  };

  const onPasskey = async () => {
    if (busy) return;
    setPhase({ kind: 'passkey' });
    try {
      const answer = await store.client.signInWithPasskey();
      store.noteSignedIn(answer);
      setPhase({ kind: 'signedIn' });
      props.onSignedIn?.(answer);
    } catch (e) {
      fail(e);
    }
  };

  const status =
    phase.kind === 'sending'
      ? l.sending
      : phase.kind === 'sent'
        ? l.sent(phase.email)
        : phase.kind === 'passkey'
          ? l.passkeyPending
          : phase.kind === 'signedIn'
            ? l.signedIn
            : '';
  const error = phase.kind === 'error' ? phase : null;

  return (
    <form
      className={props.className ?? 'authio-sign-in'}
      aria-label={l.title}
      aria-busy={busy || undefined}
      noValidate
      onSubmit={(e) => void onSubmit(e)}
    >
      <label htmlFor={emailId}>{l.email}</label>
      <input
        ref={input}
        id={emailId}
        name="email"
        type="email"
        autoComplete="email"
        inputMode="email"
        spellCheck={false}
        required
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        aria-invalid={error?.field ? true : undefined}
        aria-describedby={error?.field ? errorId : undefined}
      />
      {/* aria-disabled rather than disabled: a focused button keeps its focus while busy. */}
      <button type="submit" aria-disabled={busy || undefined}>
        {l.submit}
      </button>
      {props.passkey && (
        <button type="button" aria-disabled={busy || undefined} onClick={() => void onPasskey()}>
          {l.passkey}
        </button>
      )}
      <p role="status" className="authio-status">
        {status}
      </p>
      {error && (
        <p role="alert" id={errorId} className="authio-error">
          {error.message}
        </p>
      )}
    </form>
  );
}
