/**
 * @authio/js — the browser client for Authio.
 *
 * One session holds an independent context per organization, each with its own
 * refresh-token family; this client caches one token set per context and refreshes
 * each one single-flight, within a tab and (with Web Locks) across the origin's tabs.
 */
import { AuthioClient, type AuthioOptions } from './client.js';

export { AuthioClient } from './client.js';
export type {
  AuthioEvent,
  AuthioEvents,
  AuthioOptions,
  CachedContext,
  CredentialsLike,
  FetchLike,
  GetTokenOptions,
  LocksLike,
  Unsubscribe,
} from './client.js';
export { AuthioError, isAuthioError } from './errors.js';
export { memoryStorage, type StorageLike } from './storage.js';
export { fromBase64url, toBase64url } from './base64url.js';
export {
  creationOptions as passkeyCreationOptions,
  credentialJson as passkeyCredentialJson,
  requestOptions as passkeyRequestOptions,
  type CredentialLike,
} from './webauthn.js';
export { codeChallenge, handleRedirectCallback, signInWithRedirect, type RedirectCallbackOptions, type RedirectSignedIn, type RedirectSignInOptions, type RedirectStorage } from './redirect.js';
export type * from './types.js';

/** A client for one Authio project (one publishable key) in this page. */
export function createAuthio(options: AuthioOptions): AuthioClient {
  return new AuthioClient(options);
}
