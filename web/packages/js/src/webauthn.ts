// Conversions between the server's WebAuthn JSON (base64url strings) and what
// navigator.credentials.get()/create() take and give (ArrayBuffers). Done by hand
// rather than with PublicKeyCredential.parse…FromJSON / toJSON() so that every browser
// with WebAuthn works, not only those with the Level 3 JSON helpers.
import { fromBase64url, toBase64url } from './base64url.js';

type Json = Record<string, unknown>;
type Descriptor = { id: string } & Json;

const descriptors = (list: unknown) =>
  Array.isArray(list) ? (list as Descriptor[]).map((d) => ({ ...d, id: fromBase64url(d.id) })) : list;

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

/** The parts of a PublicKeyCredential this module reads (a structural type, so tests can fake it). */
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

const b64 = (b: ArrayBuffer | null | undefined) => (b ? toBase64url(b) : b);

/**
 * A credential as `PublicKeyCredential.toJSON()` gives it: `AuthenticationResponseJSON`
 * for an assertion, `RegistrationResponseJSON` for an attestation.
 */
export function credentialJson(c: CredentialLike): Json {
  const r = c.response;
  const response: Json = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toBase64url(r.attestationObject);
    response.authenticatorData = b64(r.getAuthenticatorData?.());
    response.transports = r.getTransports?.() ?? [];
    const key = r.getPublicKey?.();
    if (key) response.publicKey = toBase64url(key);
    if (r.getPublicKeyAlgorithm) response.publicKeyAlgorithm = r.getPublicKeyAlgorithm();
  } else {
    response.authenticatorData = b64(r.authenticatorData);
    response.signature = b64(r.signature);
    response.userHandle = b64(r.userHandle) ?? null;
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
