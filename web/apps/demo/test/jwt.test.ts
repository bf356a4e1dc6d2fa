import { describe, expect, it } from 'vitest';
import { decodeClaims } from '../src/jwt';

const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const jwt = (payload: object) => `${b64url('{"alg":"EdDSA"}')}.${b64url(JSON.stringify(payload))}.sig`;

describe('decodeClaims', () => {
  it('reads act_org, jti and the rest of the payload', () => {
    const c = decodeClaims(jwt({ sub: 'user_1', sid: 'sess_1', act_org: 'org_acme', org_role: 'admin', jti: 'jti_1', exp: 9 }));
    expect(c).toEqual({ sub: 'user_1', sid: 'sess_1', act_org: 'org_acme', org_role: 'admin', jti: 'jti_1', exp: 9 });
  });

  it('decodes base64url without padding, whatever the length, and UTF-8', () => {
    for (const name of ['a', 'ab', 'abc', 'abcd', 'Zoë ?>>', '組織']) {
      expect(decodeClaims(jwt({ act_org: name })).act_org).toBe(name);
    }
  });

  it('has no act_org for a token without an organization', () => {
    expect(decodeClaims(jwt({ sub: 'user_1' })).act_org).toBeUndefined();
  });

  it('refuses what is not a JWT', () => {
    expect(() => decodeClaims('nope')).toThrow('not a JWT');
  });
});
