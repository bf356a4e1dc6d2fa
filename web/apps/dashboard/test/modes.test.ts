import { describe, expect, it } from 'vitest';
import {
  MODES,
  countOrganizations,
  isMode,
  modeInfo,
  organizationsEnabled,
  switchBlockedReason,
} from '../src/lib/modes';

describe('mode texts', () => {
  it('lists the three modes in the order the wizard shows them', () => {
    expect(MODES.map((m) => m.id)).toEqual(['b2b', 'flat', 'b2c']);
    expect(MODES.map((m) => m.title)).toEqual(['B2B', 'Flat', 'B2C']);
  });

  it('explains each mode in one line that says whether it has organizations', () => {
    for (const m of MODES) {
      expect(m.summary).not.toMatch(/\n/);
      expect(m.summary.length).toBeGreaterThan(20);
      expect(m.summary.length).toBeLessThanOrEqual(110);
      expect(m.summary).toMatch(/\.$/);
    }
    expect(modeInfo('b2b').summary).toMatch(/organizations/);
    expect(modeInfo('flat').summary).toMatch(/no organizations/);
    expect(modeInfo('b2c').summary).toMatch(/no organizations/);
  });

  it('knows the API mode values and nothing else', () => {
    expect(['b2b', 'flat', 'b2c'].every(isMode)).toBe(true);
    expect(isMode('B2B')).toBe(false);
    expect(isMode(undefined)).toBe(false);
    expect(() => modeInfo('enterprise' as never)).toThrow();
  });

  it('has organizations only in b2b', () => {
    expect(organizationsEnabled('b2b')).toBe(true);
    expect(organizationsEnabled('flat')).toBe(false);
    expect(organizationsEnabled('b2c')).toBe(false);
  });
});

describe('the disabled mode switch', () => {
  it('refuses b2b → flat and b2b → b2c while organizations exist, naming how many', () => {
    expect(switchBlockedReason('b2b', 'flat', 1)).toBe('Delete the 1 organization first');
    expect(switchBlockedReason('b2b', 'b2c', 3)).toBe('Delete the 3 organizations first');
  });

  it('allows b2b → flat/b2c without organizations', () => {
    expect(switchBlockedReason('b2b', 'flat', 0)).toBeNull();
    expect(switchBlockedReason('b2b', 'b2c', 0)).toBeNull();
  });

  it('never blocks staying in b2b or leaving flat and b2c', () => {
    expect(switchBlockedReason('b2b', 'b2b', 5)).toBeNull();
    for (const from of ['flat', 'b2c'] as const) {
      for (const to of ['b2b', 'flat', 'b2c'] as const) expect(switchBlockedReason(from, to, 0)).toBeNull();
    }
  });

  it('counts organizations in the singular and the plural', () => {
    expect(countOrganizations(0)).toBe('0 organizations');
    expect(countOrganizations(1)).toBe('1 organization');
    expect(countOrganizations(2)).toBe('2 organizations');
  });
});
