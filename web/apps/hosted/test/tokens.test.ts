import { describe, expect, it } from 'vitest';
import { sessionAnswer as answer } from './answers';
import { Tokens } from '../src/lib/tokens';

describe('Tokens (memory only)', () => {
  it('uses the access token while it has over 30 s left, then refreshes once for all callers', async () => {
    let now = 0;
    const asked: string[] = [];
    const t = new Tokens(answer(1, [{ organization: { id: 'o', name: 'O', slug: 'o' }, role: 'admin', status: 'active' }]), () => now, async (rt) => {
      asked.push(rt);
      return answer(asked.length + 1);
    });
    expect(await t.accessToken()).toBe('at_1');
    now = 269_000;
    expect(await t.accessToken()).toBe('at_1');
    now = 271_000;
    const [a, b] = await Promise.all([t.accessToken(), t.accessToken()]);
    expect([a, b]).toEqual(['at_2', 'at_2']);
    expect(asked).toEqual(['rt_1']);
    // A refresh answer has no memberships (`?include=`): the first answer's stay.
    expect(t.session.memberships?.[0]?.organization.id).toBe('o');
    expect(t.session.refresh_token).toBe('rt_2');
    now += 271_000;
    expect(await t.accessToken()).toBe('at_3');
    expect(asked).toEqual(['rt_1', 'rt_2']);
  });

  it('a failed refresh is reported, and the next call tries again', async () => {
    let now = 0;
    let fail = true;
    const t = new Tokens(answer(1), () => now, async () => {
      if (fail) throw new Error('offline');
      return answer(9);
    });
    now = 300_000;
    await expect(t.accessToken()).rejects.toThrow('offline');
    fail = false;
    expect(await t.accessToken()).toBe('at_9');
  });
});
