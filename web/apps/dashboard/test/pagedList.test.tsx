// @vitest-environment jsdom
import { act } from 'react';
import { describe, expect, it } from 'vitest';
import type { Page } from '../src/lib/api';
import { usePagedList, type PagedList } from '../src/lib/usePagedList';
import { mount, settle } from './dom';

/** A list whose loads the test answers one by one: `asked` holds each `after` and its answer's resolver. */
function harness() {
  const asked: { after: string | null; answer: (p: Page<string>) => void; fail: (e: unknown) => void }[] = [];
  const errors: unknown[] = [];
  let list!: PagedList<string>;
  function List() {
    list = usePagedList(
      (after) =>
        new Promise<Page<string>>((answer, fail) => {
          asked.push({ after, answer, fail });
        }),
      [],
      (e) => errors.push(e),
    );
    return <p>{list.page ? `${list.trail.length}:${list.page.data.join(',')}` : 'loading'}</p>;
  }
  const m = mount(<List />);
  const answer = async (i: number, data: string[], next: string | null = null) => {
    await act(async () => asked[i]!.answer({ data, next_cursor: next }));
    await settle();
  };
  return { m, asked, errors, answer, list: () => list };
}

describe('usePagedList', () => {
  it('names the page on screen, not the one on its way, and drops an answer overtaken by a newer load', async () => {
    const h = harness();
    await settle();
    expect(h.asked.map((a) => a.after)).toEqual([null]);
    await h.answer(0, ['a', 'b'], 'c1');
    expect(h.m.el.textContent).toBe('1:a,b');

    await act(async () => h.list().forward('c1'));
    expect(h.asked.map((a) => a.after)).toEqual([null, 'c1']);
    // Page 2 is on its way: the screen still shows page 1, numbered 1.
    expect(h.m.el.textContent).toBe('1:a,b');
    await act(async () => h.list().back());
    expect(h.asked.map((a) => a.after)).toEqual([null, 'c1', null]);
    // Page 2's answer arrives after the move back: dropped.
    await h.answer(1, ['c', 'd']);
    expect(h.m.el.textContent).toBe('1:a,b');
    await h.answer(2, ['a2']);
    expect(h.m.el.textContent).toBe('1:a2');

    await act(async () => h.list().update((p) => ({ ...p, data: p.data.map((x) => x.toUpperCase()) })));
    expect(h.m.el.textContent).toBe('1:A2');
  });

  it('reads again on reload and from the first page on restart; a failure goes to onError', async () => {
    const h = harness();
    await settle();
    await h.answer(0, ['a'], 'c1');
    await act(async () => h.list().forward('c1'));
    await h.answer(1, ['b']);
    expect(h.m.el.textContent).toBe('2:b');
    await act(async () => h.list().reload());
    expect(h.asked.map((a) => a.after)).toEqual([null, 'c1', 'c1']);
    await act(async () => h.asked[2]!.fail(new Error('down')));
    await settle();
    expect(h.errors).toEqual([new Error('down')]);
    expect(h.m.el.textContent).toBe('2:b');
    await act(async () => h.list().restart());
    expect(h.asked.map((a) => a.after)).toEqual([null, 'c1', 'c1', null]);
    await h.answer(3, ['a']);
    expect(h.m.el.textContent).toBe('1:a');
  });
});
