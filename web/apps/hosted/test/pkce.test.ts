import { describe, expect, it } from 'vitest';
import { fromBase64url, toBase64url } from '@authio/js';
import { isCodeChallenge, isCodeVerifier, randomVerifier, s256 } from '../src/lib/pkce';

// Node 18 has Web Crypto only as node:crypto's `webcrypto` (the global came with Node 19).
if (!globalThis.crypto) {
  const { webcrypto } = await import('node:crypto');
  Object.defineProperty(globalThis, 'crypto', { value: webcrypto, configurable: true });
}

describe('base64url', () => {
  it('encodes without padding, with - and _', () => {
    expect(toBase64url(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe('-_-_');
    expect(toBase64url(new Uint8Array([1]))).toBe('AQ');
    expect(toBase64url(new Uint8Array([]))).toBe('');
    expect(toBase64url(new TextEncoder().encode('hello').buffer)).toBe('aGVsbG8');
  });

  it('decodes padded, unpadded and plain base64', () => {
    expect([...fromBase64url('-_-_')]).toEqual([0xfb, 0xff, 0xbf]);
    expect([...fromBase64url('AQ')]).toEqual([1]);
    expect([...fromBase64url('AQ==')]).toEqual([1]);
    expect([...fromBase64url('+/+/')]).toEqual([0xfb, 0xff, 0xbf]);
  });

  it('round-trips every byte value, and views into a larger buffer', () => {
    const all = new Uint8Array(256).map((_, i) => i);
    expect([...fromBase64url(toBase64url(all))]).toEqual([...all]);
    const view = new Uint8Array(all.buffer, 10, 5);
    expect([...fromBase64url(toBase64url(view))]).toEqual([10, 11, 12, 13, 14]);
  });

  it('refuses what is not base64url', () => {
    expect(() => fromBase64url('a b')).toThrow();
    expect(() => fromBase64url('abcde')).toThrow();
  });
});

describe('PKCE', () => {
  it('S256 is RFC 7636 appendix B’s', async () => {
    expect(await s256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('a challenge is 43 base64url characters', async () => {
    expect(isCodeChallenge('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')).toBe(true);
    expect(isCodeChallenge('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c')).toBe(false);
    expect(isCodeChallenge('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM=')).toBe(false);
    expect(isCodeChallenge('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM')).toBe(false);
    expect(isCodeChallenge(await s256(randomVerifier()))).toBe(true);
  });

  it('random verifiers are well formed and differ', () => {
    const a = randomVerifier();
    const b = randomVerifier();
    expect(isCodeVerifier(a)).toBe(true);
    expect(a).toHaveLength(43);
    expect(a).not.toBe(b);
    expect(isCodeVerifier('short')).toBe(false);
    expect(isCodeVerifier('a'.repeat(129))).toBe(false);
  });
});
