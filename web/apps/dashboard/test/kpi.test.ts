import { describe, expect, it } from 'vitest';
import type { AuditEvent, Page } from '../src/lib/api';
import {
  DAY_MS,
  SIGN_IN_TYPES,
  addCounts,
  countFailedDeliveries,
  countLabel,
  countOfPage,
  countSignInsSince,
  signInsOnPage,
} from '../src/lib/kpi';

const NOW = new Date('2026-12-06T12:00:00Z');
const SINCE = new Date(NOW.getTime() - DAY_MS);

function event(type: string, hoursAgo: number, position = 1): AuditEvent {
  return {
    id: `evt_${position}`,
    type,
    position,
    occurred_at: new Date(NOW.getTime() - hoursAgo * 3_600_000).toISOString(),
    project_id: 'proj_1',
    organization_id: null,
    actor: { type: 'user', id: 'user_1' },
    targets: [],
    data: {},
    metadata: {},
  };
}

function page<T>(data: T[], next: string | null = null): Page<T> {
  return { data, next_cursor: next };
}

describe('tile counts', () => {
  it('say "100+" for a full page with more behind it, never a made-up total', () => {
    const full = page(Array.from({ length: 100 }, (_, i) => ({ id: String(i) })), 'c');
    expect(countLabel(countOfPage(full))).toBe('100+');
    expect(countLabel(countOfPage(page([{ id: 'a' }, { id: 'b' }])))).toBe('2');
    expect(countLabel(countOfPage(page([])))).toBe('0');
  });

  it('add up, keeping "more" when any part has more', () => {
    expect(addCounts([])).toEqual({ value: 0, more: false });
    expect(addCounts([{ value: 3, more: false }, { value: 4, more: false }])).toEqual({ value: 7, more: false });
    expect(countLabel(addCounts([{ value: 100, more: true }, { value: 2, more: false }]))).toBe('102+');
  });
});

describe('sign-ins in the last 24 hours', () => {
  it('count session.created entries, nothing else', () => {
    expect(SIGN_IN_TYPES).toEqual(['session.created']);
    const events = [
      event('session.created', 1),
      event('session.context_opened', 1),
      event('session.org_switched', 2),
      event('session.created', 23.9),
      event('user.created', 3),
    ];
    expect(signInsOnPage(events, SINCE)).toEqual({ count: 2, done: false });
  });

  it('stop at the first entry older than the window (the list is newest first)', () => {
    const events = [event('session.created', 2), event('session.created', 24.1), event('session.created', 30)];
    expect(signInsOnPage(events, SINCE)).toEqual({ count: 1, done: true });
  });

  it('count exactly 24 hours ago in, and skip entries without a readable time', () => {
    const bad = { ...event('session.created', 1), occurred_at: 'yesterday' };
    expect(signInsOnPage([event('session.created', 24), bad], SINCE)).toEqual({ count: 1, done: false });
  });

  it('read older pages until one reaches past the window', async () => {
    const pages: Record<string, Page<AuditEvent>> = {
      first: page([event('session.created', 1, 9), event('session.created', 2, 8)], '8'),
      '8': page([event('session.created', 5, 7), event('session.created', 25, 6)], '6'),
      '6': page([event('session.created', 26, 5)]),
    };
    const asked: Array<string | null> = [];
    const count = await countSignInsSince(async (after) => {
      asked.push(after);
      return pages[after ?? 'first']!;
    }, SINCE);
    expect(count).toEqual({ value: 3, more: false });
    expect(asked).toEqual([null, '8']);
  });

  it('end with the list', async () => {
    const count = await countSignInsSince(async () => page([event('session.created', 1)]), SINCE);
    expect(count).toEqual({ value: 1, more: false });
  });

  it('say "N+" after the most pages it reads', async () => {
    let n = 0;
    const count = await countSignInsSince(
      async () => {
        n += 1;
        return page([event('session.created', 1, n)], String(n));
      },
      SINCE,
      3,
    );
    expect(n).toBe(3);
    expect(countLabel(count)).toBe('3+');
  });
});

describe('failed webhook deliveries', () => {
  it('add the failed deliveries of every endpoint', async () => {
    const failed: Record<string, Page<unknown>> = {
      whep_a: page([{}, {}]),
      whep_b: page([]),
      whep_c: page([{}]),
    };
    const r = await countFailedDeliveries(
      async () => page([{ id: 'whep_a' }, { id: 'whep_b' }, { id: 'whep_c' }]),
      async (id) => failed[id]!,
    );
    expect(r.failed).toEqual({ value: 3, more: false });
    expect(countLabel(r.endpoints)).toBe('3');
  });

  it('say "+" when an endpoint has a full page of failures, or endpoints were left unread', async () => {
    const full = page(new Array(100).fill({}), 'next');
    const r = await countFailedDeliveries(
      async () => page([{ id: 'whep_a' }, { id: 'whep_b' }]),
      async (id) => (id === 'whep_a' ? full : page([{}])),
    );
    expect(countLabel(r.failed)).toBe('101+');

    const more = await countFailedDeliveries(
      async () => page([{ id: 'whep_a' }], 'whep_a'),
      async () => page([]),
    );
    expect(countLabel(more.failed)).toBe('0+');
    expect(countLabel(more.endpoints)).toBe('1+');
  });

  it('is 0 without endpoints', async () => {
    const r = await countFailedDeliveries(
      async () => page([]),
      async () => {
        throw new Error('not asked');
      },
    );
    expect(countLabel(r.failed)).toBe('0');
  });
});
