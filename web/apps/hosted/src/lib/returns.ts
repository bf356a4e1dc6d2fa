// Where a sign-in that came from an app goes back to, once its organization context is
// chosen: the app's redirect URL with a handoff code, or the OAuth client's redirect with
// an authorization code. Either way the page leaves only for a URL made from the
// server's answer, and only after checking it.
import { oauthApi, userApi, type AuthorizationRequest } from './api';
import { appHost, isHandoffCode, isRedirectFor, returnUrl, type Handoff } from './query';

export interface Return {
  /** The app, for people: its host (handoffs) or the OAuth client's name. */
  name: string;
  /** The app's own redirect URL, named in `redirect_not_allowed` errors (handoffs). */
  redirectUrl?: string;
  /** The URL to leave to, for this context's access token; throws what to tell the user otherwise. */
  url: (accessToken: string) => Promise<string>;
}

/** Back to an app by handoff (`POST /v1/auth/handoffs` with the app's PKCE challenge): its URL with `code` and `state`. */
export function handoffReturn(pk: string, handoff: Handoff): Return {
  return {
    name: appHost(handoff),
    redirectUrl: handoff.redirectUrl,
    url: async (token) => {
      const answer: { code?: unknown } | undefined = await userApi.createHandoff(
        token,
        pk,
        handoff.redirectUrl,
        handoff.codeChallenge,
      );
      // Only a handoff code is ever appended to the app's URL.
      if (!isHandoffCode(answer?.code)) {
        throw new Error('The sign-in service did not answer with a sign-in code for the app. Try again.');
      }
      return returnUrl(handoff, answer.code);
    },
  };
}

/** Back to an OAuth client (`POST /v1/oauth2/authorizations`): the server's `redirect_to`, with a code. */
export function authorizationReturn(request: string, client: AuthorizationRequest): Return {
  return {
    name: client.client_name,
    url: async (token) => checked((await oauthApi.authorize(token, request))?.redirect_to, client, 'code'),
  };
}

/** Cancel an OAuth request (`POST /v1/oauth2/authorizations/deny`): the server's `redirect_to`, with `error=access_denied`. */
export async function denyUrl(request: string, client: AuthorizationRequest): Promise<string> {
  return checked((await oauthApi.deny(request))?.redirect_to, client, 'error');
}

function checked(redirectTo: unknown, client: AuthorizationRequest, param: 'code' | 'error'): string {
  if (!isRedirectFor(redirectTo, client.redirect_uri, param)) {
    throw new Error(`The sign-in service did not answer with a way back to ${client.client_name}. Try again.`);
  }
  return redirectTo;
}
