import { useEffect, useId, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, publicApi, type Project, type SessionAnswer, type SsoRoute } from '../lib/api';
import { describeError, ssoRequiredRoute } from '../lib/errors';
import { asSsoRoute, lookupEmail, ssoOffer } from '../lib/flow';
import { leaveTo } from '../lib/navigate';
import { magicLinkUrl, ssoStartUrl, type Flow, type Handoff } from '../lib/query';
import { beginSso, ssoReturnUrl, takePendingSignIn } from '../lib/sso';
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
  /**
   * The app's redirect parameters, when the sign-in hands off to it: then the SSO sign-in
   * of an email whose organization has a connection returns to the app itself. Without
   * them it returns to this page (through /hosted/sso, lib/sso.ts), which goes on as
   * after any sign-in of its own.
   */
  ssoFor?: Handoff | null;
}

/** How long typing pauses before the email is looked up (`GET /v1/auth/sso/lookup`). */
const LOOKUP_DELAY_MS = 300;

const SSO_LABEL = 'Continue with your organization’s sign-in';

/** Whether an error is the email field's (the API's `invalid_request` naming `email`). */
export function isEmailError(e: unknown): boolean {
  return e instanceof ApiError && e.field === 'email';
}

/**
 * Sign in by an emailed link (it comes back to /hosted/magic-link) or with a passkey; or,
 * for an email whose organization has an SSO connection, through its identity provider
 * (home-realm discovery: the email is looked up as it is typed, and a magic link's
 * `403 sso_required` says so too).
 */
export function SignInForm({ pk, project, search, flow, email: hint, title, intro, onSignedIn, ssoFor = null }: Props) {
  const api = publicApi(pk);
  const [email, setEmail] = useState(hint ?? '');
  // The last SSO answer, and the email it is for: it counts only while that is the email.
  const [sso, setSso] = useState<{ email: string; route: SsoRoute | null } | null>(null);
  // Set when a magic link's `sso_required` replaced the button the user pressed.
  const [focusSso, setFocusSso] = useState(false);
  const [sent, setSent] = useState<string | null>(null);
  const [busy, setBusy] = useState<'link' | 'passkey' | 'sso' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [emailInvalid, setEmailInvalid] = useState(false);
  const emailId = useId();
  const hintId = useId();
  const errorId = useId();
  const ssoId = useId();

  const lookup = lookupEmail(email);
  useEffect(() => {
    if (lookup === null) return;
    let live = true;
    const timer = setTimeout(() => {
      publicApi(pk)
        .ssoLookup(lookup)
        // 404 (no route) or a failed lookup: the form stays as it is.
        .then((answer) => live && setSso({ email: lookup, route: asSsoRoute(answer) }), () => undefined);
    }, LOOKUP_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [pk, lookup]);

  // An SSO sign-in this page started came back (/hosted/sso redeemed it): it is this form's sign-in.
  useEffect(() => {
    const answer = takePendingSignIn();
    if (!answer) return;
    setBusy('sso');
    void Promise.resolve(onSignedIn(answer))
      .catch((err: unknown) => setError(describeError(err)))
      .finally(() => setBusy(null));
    // Once, when the form first shows.
  }, []);

  useEffect(() => {
    if (!focusSso) return;
    setFocusSso(false);
    document.getElementById(ssoId)?.focus();
  }, [focusSso, ssoId]);

  const route = sso !== null && sso.email === email.trim() ? sso.route : null;
  const offer = ssoOffer(route);
  // Only SSO admits this email: no magic link, no passkey.
  const only = offer.kind === 'start' && offer.only;
  const domain = email.trim().split('@').pop();
  const startSso = async () => {
    if (offer.kind !== 'start') return;
    if (ssoFor) {
      leaveTo(ssoStartUrl(pk, offer.connectionId, ssoFor));
      return;
    }
    setBusy('sso');
    setError(null);
    try {
      const { key, challenge } = await beginSso();
      const back = { redirectUrl: ssoReturnUrl(window.location.origin, search, flow), codeChallenge: challenge, state: key };
      // Busy until the page is gone.
      leaveTo(ssoStartUrl(pk, offer.connectionId, back));
    } catch (err) {
      setError(describeError(err));
      setBusy(null);
    }
  };

  const sendLink = async (e: FormEvent) => {
    e.preventDefault();
    if (only) {
      await startSso();
      return;
    }
    setBusy('link');
    setError(null);
    setEmailInvalid(false);
    try {
      await api.sendMagicLink(email.trim(), magicLinkUrl(window.location.origin, search, flow));
      setSent(email.trim());
    } catch (err) {
      const required = ssoRequiredRoute(err);
      if (required) {
        setSso({ email: email.trim(), route: required });
        setFocusSso(true);
      } else {
        setError(describeError(err));
        setEmailInvalid(isEmailError(err));
      }
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
        {/* A live region: what the email's lookup finds is announced as it changes. */}
        <p id={hintId} className="hint" role="status">
          {only
            ? `Your organization (${domain}) signs you in only through its own identity provider (single sign-on).`
            : offer.kind === 'start'
              ? `We will email you a link that signs you in. Your organization (${domain}) also has its own sign-in (single sign-on).`
              : 'We will email you a link that signs you in.'}
        </p>
        <button type="submit" id={only ? ssoId : undefined} disabled={busy !== null}>
          {only ? SSO_LABEL : busy === 'link' ? 'Sending…' : 'Email me a sign-in link'}
        </button>
      </form>
      {!only && (offer.kind === 'start' || passkeysAvailable()) ? (
        <>
          <p className="or">
            <span>or</span>
          </p>
          {offer.kind === 'start' ? (
            <button
              type="button"
              className="secondary block"
              onClick={() => void startSso()}
              disabled={busy !== null}
              aria-describedby={hintId}
            >
              {SSO_LABEL}
            </button>
          ) : null}
          {passkeysAvailable() ? (
            <button type="button" className="secondary block" onClick={() => void passkey()} disabled={busy !== null}>
              {busy === 'passkey' ? 'Waiting for your passkey…' : 'Sign in with a passkey'}
            </button>
          ) : null}
        </>
      ) : null}
      <Alert id={errorId}>{error}</Alert>
    </>
  );
}
