import { useId } from 'react';
import { PAGE_SIZES, canGoBack, pageLabel, type Trail } from '../lib/paging';

/**
 * The buttons under a cursor-paged list: back and forward (the API's `next_cursor`),
 * with where the list is. `backLabel`/`forwardLabel` name them for the list's order
 * ("Newer"/"Older" for the audit log, "Previous page"/"Next page" for users).
 */
export function Pager({
  trail,
  perPage,
  rows,
  nextCursor,
  onBack,
  onForward,
  backLabel,
  forwardLabel,
  label,
}: {
  trail: Trail;
  perPage: number;
  rows: number;
  nextCursor: string | null;
  onBack: () => void;
  onForward: (cursor: string) => void;
  backLabel: string;
  forwardLabel: string;
  /** The accessible name of the group ("Audit log pages"). */
  label: string;
}) {
  if (!canGoBack(trail) && nextCursor === null) return null;
  return (
    <div className="pager" role="group" aria-label={label}>
      <button type="button" className="secondary" onClick={onBack} disabled={!canGoBack(trail)}>
        {backLabel}
      </button>
      <span className="muted" aria-live="polite">
        {pageLabel(trail, perPage, rows)}
      </span>
      <button
        type="button"
        className="secondary"
        onClick={() => nextCursor && onForward(nextCursor)}
        disabled={nextCursor === null}
      >
        {forwardLabel}
      </button>
    </div>
  );
}

/** A "Per page" select with the sizes the API allows. */
export function PageSizeSelect({ value, onChange }: { value: number; onChange: (n: number) => void }) {
  const id = useId();
  const sizes: number[] = PAGE_SIZES.includes(value as (typeof PAGE_SIZES)[number])
    ? [...PAGE_SIZES]
    : [...PAGE_SIZES, value].sort((a, b) => a - b);
  return (
    <div className="page-size">
      <label htmlFor={id}>Per page</label>
      <select id={id} value={value} onChange={(e) => onChange(Number(e.target.value))}>
        {sizes.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </div>
  );
}
