import { describe, expect, it } from 'vitest';
import { queryString } from '../src/lib/api';
import { auditFilterFromQuery, describeAuditFilter, AUDIT_ACTIONS } from '../src/lib/audit';
import {
  deliveryStatusText,
  endpointStatus,
  formatActor,
  formatDate,
  formatInstant,
  formatLatency,
  formatTargets,
  formatTime,
  fullName,
  parseEventFilters,
} from '../src/lib/format';

describe('formatting', () => {
  it('writes times in UTC, to the minute or the second', () => {
    expect(formatDate('2026-12-06T19:03:27.123456Z')).toBe('2026-12-06 19:03 UTC');
    expect(formatInstant('2026-12-06T19:03:27.123456Z')).toBe('2026-12-06 19:03:27 UTC');
    expect(formatTime('2026-12-06T19:03:27Z')).toBe('19:03:27 UTC');
    expect(formatInstant('not a time')).toBe('not a time');
  });

  it('names an audit entry\'s actor by type and id', () => {
    expect(formatActor({ type: 'api_key', id: 'key_1' })).toBe('api_key key_1');
    expect(formatActor({ type: 'system', id: null })).toBe('system');
  });

  it('lists an audit entry\'s targets as "type id"', () => {
    expect(
      formatTargets([
        { type: 'organization', id: 'org_1' },
        { type: 'user', id: 'user_1' },
      ]),
    ).toEqual(['organization org_1', 'user user_1']);
    expect(formatTargets([])).toEqual([]);
  });

  it('writes latencies in ms below a second', () => {
    expect(formatLatency(4)).toBe('4 ms');
    expect(formatLatency(999.6)).toBe('1000 ms');
    expect(formatLatency(1400)).toBe('1.4 s');
    expect(formatLatency(null)).toBe('—');
    expect(formatLatency(undefined)).toBe('—');
  });

  it('joins a user\'s names, or says there are none', () => {
    expect(fullName({ first_name: 'Ann', last_name: 'Lee' })).toBe('Ann Lee');
    expect(fullName({ first_name: 'Ann', last_name: null })).toBe('Ann');
    expect(fullName({ first_name: ' ', last_name: null })).toBeNull();
  });

  it('reads event filters separated by commas, spaces or lines, without repeats', () => {
    expect(parseEventFilters('membership.*, organization.created')).toEqual(['membership.*', 'organization.created']);
    expect(parseEventFilters(' *\n* ')).toEqual(['*']);
    expect(parseEventFilters(' , ')).toEqual([]);
  });

  it('says what became of a delivery', () => {
    expect(deliveryStatusText({ status: 'delivered', try: 1, next_retry_at: null })).toBe('Delivered');
    expect(deliveryStatusText({ status: 'failed', try: 8, next_retry_at: null })).toBe('Failed after 8 tries');
    expect(deliveryStatusText({ status: 'failed', try: 1, next_retry_at: null })).toBe('Failed after 1 try');
    expect(deliveryStatusText({ status: 'pending', try: 0, next_retry_at: 'x' })).toBe('Pending');
    expect(deliveryStatusText({ status: 'pending', try: 2, next_retry_at: 'x' })).toBe('Retrying (2 tries so far)');
  });

  it('says whether an endpoint is on, and why not', () => {
    expect(endpointStatus({ enabled: true, disabled_reason: null })).toBe('Enabled');
    expect(endpointStatus({ enabled: false, disabled_reason: 'failing' })).toBe('Disabled (failing)');
    expect(endpointStatus({ enabled: false, disabled_reason: null })).toBe('Disabled');
  });
});

describe('list queries', () => {
  it('leave out blank values, so the API never reads an empty cursor or filter', () => {
    expect(queryString({ email: 'a+b@example.com', limit: 25, after: null })).toBe('?email=a%2Bb%40example.com&limit=25');
    expect(queryString({ action: '', after: undefined })).toBe('');
    expect(queryString({ after: '0', limit: 0 })).toBe('?after=0&limit=0');
  });
});

describe('audit filters', () => {
  it('come from the hash\'s query, trimmed, blanks left out', () => {
    const q = new URLSearchParams('action=organization.created&organization_id=%20&actor_id=key_1&per_page=10');
    expect(auditFilterFromQuery(q)).toEqual({ action: 'organization.created', actor_id: 'key_1' });
    expect(auditFilterFromQuery(new URLSearchParams(''))).toEqual({});
  });

  it('are described in words', () => {
    expect(describeAuditFilter({})).toBeNull();
    expect(describeAuditFilter({ action: 'organization.created' })).toBe('action is organization.created');
    expect(describeAuditFilter({ action: 'a.b', organization_id: 'org_1', actor_id: 'user_1' })).toBe(
      'action is a.b and organization is org_1 and actor is user_1',
    );
  });

  it('offer event types a project\'s log holds, each once', () => {
    expect(new Set(AUDIT_ACTIONS).size).toBe(AUDIT_ACTIONS.length);
    expect(AUDIT_ACTIONS).toContain('organization.created');
    expect(AUDIT_ACTIONS).toContain('session.created');
    for (const a of AUDIT_ACTIONS) expect(a).toMatch(/^[a-z_]+\.[a-z_]+$/);
    expect(AUDIT_ACTIONS.some((a) => a.startsWith('operator.') || a.startsWith('reservation.'))).toBe(false);
    expect(AUDIT_ACTIONS).not.toContain('session.context_refreshed');
  });
});
