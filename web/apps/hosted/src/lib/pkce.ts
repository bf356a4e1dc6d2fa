// PKCE (RFC 7636) with S256: the app keeps a random verifier, sends the challenge
// (base64url of the verifier's SHA-256) through these pages to POST /v1/auth/handoffs,
// and later proves the handoff code is its own with the verifier. These pages only
// check the challenge's form; `s256` is here for tests and tools.
import { toBase64url } from '@authio/js';

/** A well-formed S256 challenge: 43 base64url characters (32 bytes, unpadded). */
export function isCodeChallenge(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}

/** A verifier as RFC 7636 wants it: 43–128 characters of [A-Za-z0-9-._~]. */
export function isCodeVerifier(value: string): boolean {
  return /^[A-Za-z0-9._~-]{43,128}$/.test(value);
}

/** A fresh random verifier (32 random bytes, base64url: 43 characters). */
export function randomVerifier(): string {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return toBase64url(bytes);
}

/** The S256 challenge of a verifier: base64url(SHA-256(ASCII(verifier))). */
export async function s256(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return toBase64url(digest);
}
