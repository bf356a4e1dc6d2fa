// A cursor-paged list of the dashboard (audit log, users, webhooks, deliveries, OAuth
// clients): the page on screen, the trail of cursors that opened it, and the moves.
import { useCallback, useEffect, useState, type DependencyList } from 'react';
import type { Page } from './api';
import { FIRST_PAGE, back, currentCursor, forward, type Trail } from './paging';

export interface PagedList<T> {
  /** The page on screen; null until the first answer. */
  page: Page<T> | null;
  /** The trail of the page on screen: the pager names the page shown, not the one on its way. */
  trail: Trail;
  /** Change the page on screen in place (a row an action updated). */
  update(change: (page: Page<T>) => Page<T>): void;
  back(): void;
  forward(cursor: string): void;
  /** Back to the first page, read again. */
  restart(): void;
  /** The page asked for, read again (stable across renders). */
  reload(): void;
}

/**
 * `load(after)` for the page the trail names, again whenever `deps` change and on
 * `reload()`. An answer that arrives after a newer load started is dropped; a failure
 * goes to `onError` (unless superseded too).
 */
export function usePagedList<T>(
  load: (after: string | null) => Promise<Page<T>>,
  deps: DependencyList,
  onError: (e: unknown) => void,
): PagedList<T> {
  const [trail, setTrail] = useState<Trail>(FIRST_PAGE);
  const [shown, setShown] = useState<{ page: Page<T>; trail: Trail } | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let live = true;
    load(currentCursor(trail))
      .then((page) => live && setShown({ page, trail }))
      .catch((e: unknown) => live && onError(e));
    return () => {
      live = false;
    };
    // `load` and `onError` are new closures each render; what they read is in `deps`.
  }, [...deps, trail, version]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return {
    page: shown?.page ?? null,
    trail: shown?.trail ?? FIRST_PAGE,
    update: (change) => setShown((s) => (s ? { ...s, page: change(s.page) } : s)),
    back: () => setTrail(back),
    forward: (cursor) => setTrail((t) => forward(t, cursor)),
    restart: () => {
      setTrail(FIRST_PAGE);
      reload();
    },
    reload,
  };
}
