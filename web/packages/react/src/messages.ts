import { isAuthioError } from '@authio/js';

/**
 * A sentence for people about an Authio failure, chosen by the error's stable `code`
 * (never by its message). Components take a `formatError` prop to replace it.
 */
export function describeError(error: unknown): string {
  if (!isAuthioError(error)) return 'Something went wrong. Please try again.';
  switch (error.code) {
    case 'network_error':
      return 'The sign-in service could not be reached. Check your connection and try again.';
    case 'rate_limited':
      return error.retryAfter
        ? `Too many attempts. Try again in ${Math.ceil(error.retryAfter)} seconds.`
        : 'Too many attempts. Try again in a moment.';
    case 'invalid_request':
      return (error.details as { field?: unknown } | undefined)?.field === 'email'
        ? 'That email address does not look right.'
        : 'The request was not accepted. Check what you entered.';
    case 'redirect_not_allowed':
      return 'This page is not allowed to receive sign-in links.';
    case 'sign_in_method_not_allowed':
      return 'This way of signing in is turned off for this application.';
    case 'sign_up_closed':
      return 'Sign-up is closed for this application.';
    case 'invalid_token':
      return 'This sign-in link is invalid, expired or already used. Ask for a new one.';
    case 'passkey_cancelled':
      return 'No passkey was used.';
    case 'passkeys_unavailable':
      return 'This browser does not support passkeys.';
    case 'passkey_invalid':
    case 'invalid_ceremony':
      return 'That passkey was not recognised. Try again, or use an email link.';
    case 'not_a_member':
      return 'You are not an active member of that organization.';
    case 'unauthenticated':
      return 'You are signed out. Sign in again.';
    default:
      return `Something went wrong (${error.code}). Please try again.`;
  }
}
