import { describe, expect, it } from 'vitest';
import { AuthioError, createAuthio, fromBase64url, isAuthioError, toBase64url, type CredentialsLike } from '../src/index.js';
import { BASE_URL, PUBLISHABLE_KEY, b64u } from './fake-server.js';
import { browser, record, signIn } from './harness.js';

const text = (b: BufferSource) =>
  new TextDecoder().decode(b instanceof ArrayBuffer ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
const bytes = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer;

describe('sign-in', () => {
  it('sends a magic link with the publishable key and a redirect URL, then verifies its token', async () => {
    const { server, acme, tab } = browser();
    server.addUser('solo@example.com', [[acme, 'member']]);
    const a = tab();
    const events = record(a);
    await a.sendMagicLink('solo@example.com', { redirectUrl: 'http://localhost:3000/callback?next=%2F' });
    const start = server.calls('/v1/auth/magic-links')[0]!;
    expect(start.body).toEqual({ email: 'solo@example.com', redirect_url: 'http://localhost:3000/callback?next=%2F' });
    expect(start.headers['authio-publishable-key']).toBe(PUBLISHABLE_KEY);
    expect(start.headers).not.toHaveProperty('authorization');
    const link = new URL(server.mail[0]!.url);
    expect(link.searchParams.get('next')).toBe('/');

    const signed = await a.verifyMagicLink(link.searchParams.get('token')!, { invitationCode: 'inv_1' });
    expect(server.calls('/v1/auth/magic-links/verify')[0]!.body).toEqual({ token: server.mail[0]!.token, invitation_code: 'inv_1' });
    // The only membership: the session opens in it.
    expect(signed.active_organization?.id).toBe(acme.id);
    expect(a.organizationId).toBe(acme.id);
    expect(events.signedIn).toEqual([{ sessionId: signed.session_id, userId: signed.user.id, organizationId: acme.id }]);
    expect(server.actOrg((await a.getToken())!)).toBe(acme.id);
  });

  it('sends no redirect_url when none is given', async () => {
    const { server, tab } = browser();
    await tab().sendMagicLink('ada@example.com');
    expect(server.calls('/v1/auth/magic-links')[0]!.body).toEqual({ email: 'ada@example.com' });
  });

  it('verifies a sign-in token from the project backend', async () => {
    const { server, ada, tab } = browser();
    const a = tab();
    const signed = await a.verifySignInToken(server.signInToken(ada));
    expect(signed.user).toEqual({ id: ada.id, email: ada.email });
    expect(server.calls('/v1/auth/sign-in-tokens/verify')[0]!.headers['authio-publishable-key']).toBe(PUBLISHABLE_KEY);
    expect(await a.getToken()).toBeTruthy();
  });

  it('signs in with a passkey: options decoded to bytes, the assertion encoded to base64url', async () => {
    const { server, ada, tab } = browser();
    const rawId = new Uint8Array([0xfb, 0xff, 0x00, 0x10, 0x3e, 0x3f]);
    server.addPasskey(ada, rawId);
    let asked: CredentialRequestOptions | undefined;
    const credentials: CredentialsLike = {
      async get(options) {
        asked = options;
        const challenge = b64u(new Uint8Array(options.publicKey!.challenge as ArrayBuffer));
        return {
          id: b64u(rawId),
          rawId: rawId.buffer,
          type: 'public-key',
          authenticatorAttachment: 'platform',
          response: {
            clientDataJSON: bytes(JSON.stringify({ type: 'webauthn.get', challenge, origin: 'http://localhost:3000' })),
            authenticatorData: new Uint8Array([1, 2, 3, 250]).buffer,
            signature: new Uint8Array([9, 8, 7]).buffer,
            userHandle: bytes(`handle-${ada.id}`),
          },
          getClientExtensionResults: () => ({}),
        };
      },
      create: () => Promise.reject(new Error('unused')),
    };
    const a = tab({ credentials, baseUrl: BASE_URL + '/' }); // a trailing slash is fine
    const signed = await a.signInWithPasskey({ mediation: 'optional' });

    expect(signed.user.id).toBe(ada.id);
    expect(asked?.mediation).toBe('optional');
    const ceremony = server.calls('/v1/auth/passkeys/authentication/start')[0]!;
    expect(ceremony.body).toEqual({});
    expect(text(asked!.publicKey!.challenge)).toMatch(/^challenge-cer_/);
    expect(asked!.publicKey!.rpId).toBe('localhost');
    const finish = server.calls('/v1/auth/passkeys/authentication/finish')[0]!.body as {
      ceremony_id: string;
      credential: { id: string; rawId: string; type: string; response: Record<string, string | null> };
    };
    expect(finish.ceremony_id).toMatch(/^cer_/);
    expect(finish.credential.rawId).toBe('-_8AED4_');
    expect(finish.credential.response.authenticatorData).toBe('AQID-g');
    expect(finish.credential.response.signature).toBe('CQgH');
    expect(finish.credential.response.userHandle).toBe(b64u(`handle-${ada.id}`));
    expect(await a.getToken()).toBeTruthy();
  });

  it('turns a cancelled passkey prompt into AuthioError passkey_cancelled', async () => {
    const { server } = browser();
    const credentials: CredentialsLike = {
      get: () => Promise.reject(Object.assign(new Error('The operation either timed out or was not allowed.'), { name: 'NotAllowedError' })),
      create: () => Promise.reject(new Error('unused')),
    };
    const a = createAuthio({ baseUrl: BASE_URL, publishableKey: PUBLISHABLE_KEY, fetch: server.fetch, locks: null, credentials });
    await expect(a.signInWithPasskey()).rejects.toMatchObject({ name: 'AuthioError', code: 'passkey_cancelled' });
  });

  it('registers a passkey for the signed-in user', async () => {
    const { server, ada, tab } = browser();
    let asked: CredentialCreationOptions | undefined;
    const rawId = new Uint8Array([7, 7, 7, 255]);
    const credentials: CredentialsLike = {
      get: () => Promise.reject(new Error('unused')),
      async create(options) {
        asked = options;
        return {
          id: b64u(rawId),
          rawId: rawId.buffer,
          type: 'public-key',
          response: {
            clientDataJSON: bytes('{}'),
            attestationObject: new Uint8Array([0xa0]).buffer,
            getTransports: () => ['internal'],
            getPublicKey: () => new Uint8Array([1]).buffer,
            getPublicKeyAlgorithm: () => -8,
            getAuthenticatorData: () => new Uint8Array([2]).buffer,
          },
        };
      },
    };
    const a = tab({ credentials });
    await signIn(a, server);
    const passkey = await a.registerPasskey();
    expect(passkey).toMatchObject({ id: 'BwcH_w', user_id: ada.id });
    expect(text(asked!.publicKey!.user.id)).toBe(`handle-${ada.id}`);
    expect(text(asked!.publicKey!.challenge)).toMatch(/^challenge-cer_/);
    const finish = server.calls('/v1/auth/passkeys/registration/finish')[0]!;
    expect(finish.headers.authorization).toMatch(/^Bearer at_/);
    expect((finish.body as { credential: { response: Record<string, unknown> } }).credential.response).toEqual({
      clientDataJSON: 'e30',
      attestationObject: 'oA',
      authenticatorData: 'Ag',
      transports: ['internal'],
      publicKey: 'AQ',
      publicKeyAlgorithm: -8,
    });
  });
});

describe('AuthioError', () => {
  it('carries the API error body’s status, code and message, and the request id', async () => {
    const { server, tab } = browser();
    const a = tab();
    await signIn(a, server);
    const unknownOrg = server.addOrg('Initech');
    const error = await a.switchOrganization(unknownOrg.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthioError);
    expect(error).toBeInstanceOf(Error);
    expect(isAuthioError(error, 'not_a_member')).toBe(true);
    const e = error as AuthioError;
    expect([e.name, e.status, e.code]).toEqual(['AuthioError', 403, 'not_a_member']);
    expect(e.message).toEqual(expect.any(String));
    expect(e.message.length).toBeGreaterThan(0);
    expect(e.requestId).toMatch(/^req_/);
    // The session's contexts are untouched by a refused switch.
    expect(a.organizationId).toBeNull();
    expect(await a.getToken()).toBeTruthy();
  });

  it('reads details and Retry-After, and names answers without the error body by status', async () => {
    const answers = [
      new Response(JSON.stringify({ error: { code: 'rate_limited', message: 'too many sign-in requests', details: { scope: 'email' } } }), {
        status: 429,
        headers: { 'retry-after': '42', 'content-type': 'application/json' },
      }),
      new Response('<html>Bad gateway</html>', { status: 502 }),
    ];
    const a = createAuthio({ baseUrl: BASE_URL, publishableKey: PUBLISHABLE_KEY, fetch: async () => answers.shift()!, locks: null });
    const limited = await a.sendMagicLink('ada@example.com').catch((e: unknown) => e);
    expect(limited).toMatchObject({ status: 429, code: 'rate_limited', retryAfter: 42, details: { scope: 'email' } });
    const gateway = await a.sendMagicLink('ada@example.com').catch((e: unknown) => e);
    expect(gateway).toMatchObject({ status: 502, code: 'http_502' });
  });

  it('reports an unreachable server as network_error and a missing session as unauthenticated', async () => {
    const a = createAuthio({ baseUrl: 'https://nowhere.test', publishableKey: PUBLISHABLE_KEY, fetch: () => Promise.reject(new TypeError('Failed to fetch')), locks: null });
    await expect(a.verifySignInToken('sit_x')).rejects.toMatchObject({ status: 0, code: 'network_error' });
    await expect(a.getUser()).rejects.toMatchObject({ status: 401, code: 'unauthenticated' });
    await expect(a.switchOrganization('org_1')).rejects.toMatchObject({ status: 401, code: 'unauthenticated' });
  });
});

describe('base64url', () => {
  it('round-trips bytes of every length and uses - and _', () => {
    for (let n = 0; n < 40; n++) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 97 + 251) & 0xff);
      const encoded = toBase64url(data);
      expect(encoded).toMatch(/^[A-Za-z0-9_-]*$/);
      expect([...fromBase64url(encoded)]).toEqual([...data]);
    }
    expect(toBase64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
    expect([...fromBase64url('-_8=')]).toEqual([0xfb, 0xff]);
  });
});
