import { describe, expect, it } from 'vitest';
import { fromBase64url, toBase64url } from '@authio/js';
import { creationOptions, credentialJson, requestOptions, withoutEnforcedCredProtect, type CredentialLike } from '../src/lib/webauthn';

const buf = (bytes: number[]) => new Uint8Array(bytes).buffer;

describe('WebAuthn JSON conversions', () => {
  it('request options: challenge and allowed credential ids become bytes', () => {
    const o = requestOptions({
      challenge: toBase64url(new Uint8Array([1, 2, 3])),
      rpId: 'localhost',
      userVerification: 'required',
      allowCredentials: [{ type: 'public-key', id: '-_8' }],
    });
    expect([...new Uint8Array(o.challenge as ArrayBuffer)]).toEqual([1, 2, 3]);
    expect(o.rpId).toBe('localhost');
    expect([...new Uint8Array(o.allowCredentials![0]!.id as ArrayBuffer)]).toEqual([0xfb, 0xff]);
  });

  it('creation options: challenge, user id and excluded ids become bytes; the rest stays', () => {
    const o = creationOptions({
      challenge: 'AQID',
      rp: { id: 'localhost', name: 'localhost' },
      user: { id: 'BAU', name: 'ada@example.com', displayName: '' },
      pubKeyCredParams: [{ type: 'public-key', alg: -8 }],
      excludeCredentials: [{ type: 'public-key', id: 'AA' }],
    });
    expect([...new Uint8Array(o.user.id as ArrayBuffer)]).toEqual([4, 5]);
    expect(o.user.name).toBe('ada@example.com');
    expect(o.pubKeyCredParams).toEqual([{ type: 'public-key', alg: -8 }]);
    expect([...new Uint8Array(o.excludeCredentials![0]!.id as ArrayBuffer)]).toEqual([0]);
  });

  it('an assertion as toJSON() gives it', () => {
    const c: CredentialLike = {
      id: '-_8',
      rawId: buf([0xfb, 0xff]),
      type: 'public-key',
      authenticatorAttachment: 'platform',
      response: {
        clientDataJSON: buf([123, 125]),
        authenticatorData: buf([1]),
        signature: buf([2]),
        userHandle: buf([3]),
      },
      getClientExtensionResults: () => ({}),
    };
    expect(credentialJson(c)).toEqual({
      id: '-_8',
      rawId: '-_8',
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: { clientDataJSON: 'e30', authenticatorData: 'AQ', signature: 'Ag', userHandle: 'Aw' },
    });
  });

  it('an attestation as toJSON() gives it', () => {
    const c: CredentialLike = {
      id: 'AA',
      rawId: buf([0]),
      type: 'public-key',
      response: {
        clientDataJSON: buf([0]),
        attestationObject: buf([9, 9]),
        getAuthenticatorData: () => buf([7]),
        getTransports: () => ['internal'],
        getPublicKey: () => buf([5]),
        getPublicKeyAlgorithm: () => -7,
      },
    };
    const j = credentialJson(c);
    expect(j.response).toEqual({
      clientDataJSON: 'AA',
      attestationObject: 'CQk',
      authenticatorData: 'Bw',
      transports: ['internal'],
      publicKey: 'BQ',
      publicKeyAlgorithm: -7,
    });
    expect(j.authenticatorAttachment).toBeNull();
    expect([...fromBase64url(j.rawId as string)]).toEqual([0]);
  });
});

describe('credProtect', () => {
  it('is asked for but not enforced (Chromium refuses enforcement on authenticators without it)', () => {
    const server = {
      challenge: 'AQID',
      extensions: { credentialProtectionPolicy: 'userVerificationRequired', enforceCredentialProtectionPolicy: true },
    };
    expect(withoutEnforcedCredProtect(server)).toEqual({
      challenge: 'AQID',
      extensions: { credentialProtectionPolicy: 'userVerificationRequired' },
    });
    // The server's object is left as it was; options without the flag pass through.
    expect(server.extensions.enforceCredentialProtectionPolicy).toBe(true);
    const plain = { challenge: 'AQID' };
    expect(withoutEnforcedCredProtect(plain)).toBe(plain);
  });
});
