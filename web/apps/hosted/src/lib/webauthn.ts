// The browser's WebAuthn ceremonies for the pages. The conversions between the server's
// WebAuthn JSON (base64url strings) and what navigator.credentials.get()/create() take
// and give are @authio/js's (one implementation, tested there).
import {
  passkeyCreationOptions as creationOptions,
  passkeyCredentialJson as credentialJson,
  passkeyRequestOptions as requestOptions,
  type CredentialLike,
} from '@authio/js';
import { ApiError } from './api';

type Json = Record<string, unknown>;

export { creationOptions, credentialJson, requestOptions, type CredentialLike };

export function passkeysAvailable(): boolean {
  return typeof window !== 'undefined' && typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;
}

/** Runs a browser ceremony; a cancelled or timed-out one becomes `passkey_cancelled`. */
async function ceremony(run: () => Promise<Credential | null>): Promise<Json> {
  if (!passkeysAvailable()) throw new ApiError(0, 'passkeys_unavailable', 'This browser does not support passkeys.');
  let credential: Credential | null;
  try {
    credential = await run();
  } catch (e) {
    const name = (e as { name?: string })?.name;
    if (name === 'NotAllowedError' || name === 'AbortError') {
      throw new ApiError(0, 'passkey_cancelled', 'No passkey was used (cancelled or timed out).');
    }
    if (name === 'InvalidStateError') throw new ApiError(0, 'passkey_exists', 'This passkey is registered already.');
    throw e;
  }
  if (!credential) throw new ApiError(0, 'passkey_cancelled', 'No passkey was used.');
  return credentialJson(credential as unknown as CredentialLike);
}

/** `navigator.credentials.get` with the server's request options; the assertion as JSON. */
export function getAssertion(options: Json): Promise<Json> {
  return ceremony(() => navigator.credentials.get({ publicKey: requestOptions(options) }));
}

/**
 * The creation options with `credProtect` asked for but not made a condition: Chromium
 * refuses `enforceCredentialProtectionPolicy: true` outright on an authenticator without
 * the credProtect extension (its virtual authenticator among them: NotAllowedError), so
 * the page drops `enforce`. Authenticators that know the extension still apply the
 * policy; the server requires user verification at every sign-in either way.
 */
export function withoutEnforcedCredProtect(json: Json): Json {
  const ext = json.extensions as Json | undefined;
  if (!ext || ext.enforceCredentialProtectionPolicy === undefined) return json;
  const { enforceCredentialProtectionPolicy: _dropped, ...rest } = ext;
  return { ...json, extensions: rest };
}

/** `navigator.credentials.create` with the server's creation options; the attestation as JSON. */
export function createCredential(options: Json): Promise<Json> {
  return ceremony(() => navigator.credentials.create({ publicKey: creationOptions(withoutEnforcedCredProtect(options)) }));
}
