import { describe, expect, it } from 'vitest';
import { formatTime, personName } from '../src/lib/format';

describe('formatting', () => {
  it('times in UTC, to the minute, the same in every locale', () => {
    expect(formatTime('2026-12-06T21:32:59.999Z')).toBe('2026-12-06 21:32 UTC');
    expect(formatTime('2026-01-02T03:04:05+02:00')).toBe('2026-01-02 01:04 UTC');
    expect(formatTime(null)).toBe('—');
    expect(formatTime('not a time')).toBe('not a time');
  });

  it('names from first and last name, or none', () => {
    expect(personName({ first_name: 'Ada', last_name: 'Lovelace' })).toBe('Ada Lovelace');
    expect(personName({ first_name: ' Ada ', last_name: null })).toBe('Ada');
    expect(personName({ first_name: '', last_name: '  ' })).toBeNull();
    expect(personName({ first_name: null, last_name: null })).toBeNull();
  });
});
