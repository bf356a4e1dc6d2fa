// Cursor paging as the API offers it: a page answers `next_cursor` (null on the last
// page), which is passed back as `after`; there is no cursor that goes back. So the
// dashboard keeps the trail of cursors that opened each page seen, and going back is
// going one step down the trail.

/** The cursors that opened each page seen so far; the first page's is null. */
export type Trail = ReadonlyArray<string | null>;

export const FIRST_PAGE: Trail = [null];

/** The `after` of the page shown (null for the first page). */
export function currentCursor(trail: Trail): string | null {
  return trail[trail.length - 1] ?? null;
}

/** The page after this one (the next cursor its answer gave). */
export function forward(trail: Trail, nextCursor: string): Trail {
  return [...trail, nextCursor];
}

/** The page before this one; the first page stays the first page. */
export function back(trail: Trail): Trail {
  return trail.length > 1 ? trail.slice(0, -1) : trail;
}

/** 1 for the first page. */
export function pageNumber(trail: Trail): number {
  return Math.max(1, trail.length);
}

export function canGoBack(trail: Trail): boolean {
  return trail.length > 1;
}

/** "Page 2", with the range of rows when the page has any: "Page 2 · rows 26–50". */
export function pageLabel(trail: Trail, perPage: number, rowsOnPage: number): string {
  const n = pageNumber(trail);
  if (rowsOnPage === 0) return `Page ${n}`;
  const first = (n - 1) * perPage + 1;
  return `Page ${n} · rows ${first}–${first + rowsOnPage - 1}`;
}

export const PAGE_SIZES = [10, 25, 50, 100] as const;

/** A page size the API accepts (1–100), from the hash's query text; the fallback otherwise. */
export function parsePageSize(value: string | null, fallback = 25): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 100 ? n : fallback;
}
