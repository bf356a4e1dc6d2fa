// What to tell people when something fails: the API's stable error codes mapped to
// sentences for the person at the keyboard (the server's own message is for developers
// and is shown only for codes without a sentence here).
import { ApiError, type SsoRoute } from './api';
import { asSsoRoute } from './flow';

export interface ErrorContext {
  /** The app's redirect URL, named in redirect errors. */
  redirectUrl?: string | undefined;
}

const MESSAGES: Record<string, string> = {
  network_error: 'The sign-in service could not be reached. Check your connection and try again.',
  invalid_token: 'This sign-in link was used already or has expired. Ask for a new one.',
  invalid_authorization_request: 'This sign-in request is not valid or has expired (requests last 10 minutes).',
  invalid_handoff: 'The sign-in could not be completed: the code is unknown, expired or was used already. Start again from the app.',
  not_a_member: 'You are not a member of that organization.',
  step_up_required: 'This organization asks you to confirm it is you with a passkey.',
  sign_in_method_not_allowed: 'Your organization does not allow this way of signing in. Try another one, such as a passkey.',
  sso_required:
    'Your organization signs you in through its own identity provider (single sign-on). Go back to the app and choose its single sign-on.',
  sign_up_closed: 'This app admits new users by invitation only. Ask for an invitation, then use its link.',
  passkey_cancelled: 'No passkey was used. You can try again.',
  passkeys_unavailable: 'This browser does not support passkeys.',
  passkey_invalid: 'That passkey was not accepted. Use a passkey registered for this account.',
  passkey_exists: 'This passkey is registered already.',
  invalid_ceremony: 'The passkey prompt expired. Try again.',
  unauthenticated: 'Your sign-in has ended. Sign in again.',
  invitation_invalid: 'This invitation link is not valid. It may have been replaced by a newer invitation.',
  invitation_expired: 'This invitation has expired. Ask for a new one.',
  invitation_revoked: 'This invitation was withdrawn.',
  invitation_accepted: 'This invitation was accepted already.',
  invitation_not_pending: 'This invitation can no longer be accepted.',
  invitation_email_mismatch: 'This invitation is for another email address. Sign in with the address it was sent to.',
  already_member: 'You are a member of this organization already.',
  email_not_verified: 'Your email address is not verified yet.',
  origin_not_allowed: 'This page is not allowed to sign in to this project.',
  forbidden: 'You are not allowed to do this.',
  not_found: 'That was not found, or is not yours to see.',
  unavailable: 'The sign-in service is unavailable for a moment. Try again shortly.',
  internal: 'Something went wrong on the server. Try again; if it happens again, contact the app’s support.',
};

/** A sentence for people, from whatever was thrown. */
export function describeError(e: unknown, context: ErrorContext = {}): string {
  if (e instanceof ApiError) {
    switch (e.code) {
      case 'redirect_not_allowed':
        return context.redirectUrl
          ? `This app’s return address (${context.redirectUrl}) is not allowed for this project. Its developers need to add it to the project’s redirect URLs.`
          : 'The return address is not allowed for this project. The app’s developers need to add it to the project’s redirect URLs.';
      case 'rate_limited':
        return e.retryAfter !== undefined
          ? `Too many sign-in requests. Try again in ${waitText(e.retryAfter)}.`
          : 'Too many sign-in requests. Try again later.';
      case 'invalid_request':
        if (e.field === 'email') return 'Enter a valid email address.';
        if (e.field === 'code_challenge' || e.field === 'redirect_url')
          return `The app sent an invalid sign-in request (${e.field}). Start again from the app.`;
        return e.message;
    }
    const known = MESSAGES[e.code];
    if (known) return known;
    return e.message;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}

function waitText(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.ceil(seconds))} second${Math.ceil(seconds) === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** Whether `e` is the API's `403 step_up_required`. */
export function isStepUp(e: unknown): e is ApiError {
  return e instanceof ApiError && e.status === 403 && e.code === 'step_up_required';
}

/** What a `step_up_required` answer's details say the organization asks for, in words. */
export function stepUpReason(e: ApiError): string {
  const d = e.details ?? {};
  const parts: string[] = [];
  if (d.require_passkey === true) parts.push('a passkey');
  const methods = Array.isArray(d.allowed_methods) ? (d.allowed_methods as unknown[]).filter((m) => typeof m === 'string') : [];
  if (methods.length > 0 && d.require_passkey !== true) parts.push(`signing in by ${methods.map(methodName).join(' or ')}`);
  if (typeof d.max_session_age_seconds === 'number') parts.push(`a sign-in in the last ${ageText(d.max_session_age_seconds)}`);
  return parts.length ? `It asks for ${parts.join(' and ')}.` : 'It asks for more than this sign-in has.';
}

function methodName(m: unknown): string {
  return m === 'magic_link' ? 'email link' : m === 'passkey' ? 'passkey' : String(m);
}

function ageText(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} hour${seconds === 3600 ? '' : 's'}`;
  if (seconds % 60 === 0) return `${seconds / 60} minute${seconds === 60 ? '' : 's'}`;
  return `${seconds} seconds`;
}

/** The route a magic link's `403 sso_required` names (its organization admits only SSO), else null. */
export function ssoRequiredRoute(e: unknown): SsoRoute | null {
  if (!(e instanceof ApiError) || e.status !== 403 || e.code !== 'sso_required') return null;
  const route = asSsoRoute(e.details);
  return route && { ...route, required: true };
}
