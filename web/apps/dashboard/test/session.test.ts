import { describe, expect, it } from 'vitest';
import { codeFromSearch, isConsoleToken, isSignInCode, tokenFromHash } from '../src/lib/session';
import { parseRoute } from '../src/lib/router';

describe('console token in the URL', () => {
  it('reads #token=cs_…', () => {
    expect(tokenFromHash('#token=cs_abc-DEF_123')).toBe('cs_abc-DEF_123');
    expect(tokenFromHash('token=cs_x')).toBe('cs_x');
  });

  it('ignores other fragments and other kinds of token', () => {
    expect(tokenFromHash('#/settings')).toBeNull();
    expect(tokenFromHash('#token=sk_test_abc')).toBeNull();
    expect(tokenFromHash('#token=')).toBeNull();
    expect(tokenFromHash('')).toBeNull();
  });

  it('tells console tokens from emailed sign-in codes', () => {
    expect(isConsoleToken('cs_abc')).toBe(true);
    expect(isConsoleToken('csl_abc')).toBe(false);
    expect(isSignInCode('csl_abc')).toBe(true);
    expect(isSignInCode('cs_abc')).toBe(false);
    expect(codeFromSearch('?token=csl_abc')).toBe('csl_abc');
    expect(codeFromSearch('?token=cs_abc')).toBeNull();
  });
});

describe('routes', () => {
  it('maps the hash to a page', () => {
    expect(parseRoute('')).toBe('/');
    expect(parseRoute('#/')).toBe('/');
    expect(parseRoute('#/settings')).toBe('/settings');
    expect(parseRoute('#/tenants/new')).toBe('/tenants/new');
    expect(parseRoute('#/nope')).toBeNull();
  });
});
