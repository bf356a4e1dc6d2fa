// The server's WebAuthn JSON (base64url strings) to and from what
// navigator.credentials.get()/create() take and give (ArrayBuffers), by hand so that
// every browser with WebAuthn works, not only those with the Level 3 JSON helpers.
import { ApiError } from './api';
import { fromBase64url, toBase64url } from './base64url';

type Json = Record<string, unknown>;

const descriptors = (list: unknown) =>
  Array.isArray(list) ? (list as Array<{ id: string } & Json>).map((d) => ({ ...d, id: fromBase64url(d.id) })) : list;

/** `PublicKeyCredentialRequestOptionsJSON` → `PublicKeyCredentialRequestOptions`. */
export function requestOptions(json: Json): PublicKeyCredentialRequestOptions {
  const o: Json = { ...json, challenge: fromBase64url(json.challenge as string) };
  if (json.allowCredentials !== undefined) o.allowCredentials = descriptors(json.allowCredentials);
  return o as unknown as PublicKeyCredentialRequestOptions;
}

/** `PublicKeyCredentialCreationOptionsJSON` → `PublicKeyCredentialCreationOptions`. */
export function creationOptions(json: Json): PublicKeyCredentialCreationOptions {
  const user = json.user as Json;
  const o: Json = {
    ...json,
    challenge: fromBase64url(json.challenge as string),
    user: { ...user, id: fromBase64url(user.id as string) },
  };
  if (json.excludeCredentials !== undefined) o.excludeCredentials = descriptors(json.excludeCredentials);
  return o as unknown as PublicKeyCredentialCreationOptions;
}

/** The parts of a PublicKeyCredential read here (structural, so tests can fake one). */
export interface CredentialLike {
  id: string;
  rawId: ArrayBuffer;
  type: string;
  authenticatorAttachment?: string | null;
  response: {
    clientDataJSON: ArrayBuffer;
    authenticatorData?: ArrayBuffer;
    signature?: ArrayBuffer;
    userHandle?: ArrayBuffer | null;
    attestationObject?: ArrayBuffer;
    getTransports?: () => string[];
    getPublicKey?: () => ArrayBuffer | null;
    getPublicKeyAlgorithm?: () => number;
    getAuthenticatorData?: () => ArrayBuffer;
  };
  getClientExtensionResults?: () => unknown;
}

/** A credential as `PublicKeyCredential.toJSON()` gives it (registration or authentication response). */
export function credentialJson(c: CredentialLike): Json {
  const r = c.response;
  const response: Json = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toBase64url(r.attestationObject);
    const data = r.getAuthenticatorData?.();
    if (data) response.authenticatorData = toBase64url(data);
    response.transports = r.getTransports?.() ?? [];
    const key = r.getPublicKey?.();
    if (key) response.publicKey = toBase64url(key);
    if (r.getPublicKeyAlgorithm) response.publicKeyAlgorithm = r.getPublicKeyAlgorithm();
  } else {
    if (r.authenticatorData) response.authenticatorData = toBase64url(r.authenticatorData);
    if (r.signature) response.signature = toBase64url(r.signature);
    response.userHandle = r.userHandle ? toBase64url(r.userHandle) : null;
  }
  return {
    id: c.id,
    rawId: toBase64url(c.rawId),
    type: c.type,
    response,
    authenticatorAttachment: c.authenticatorAttachment ?? null,
    clientExtensionResults: c.getClientExtensionResults?.() ?? {},
  };
}

/** Whether this browser offers WebAuthn at all. */
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
