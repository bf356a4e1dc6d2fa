import { Children, isValidElement, useEffect, useRef, type ReactNode } from 'react';

let firstHeading = true;

/** The text of a heading's children (strings, numbers, and elements' children), for telling steps apart. */
export function headingText(children: ReactNode): string {
  let text = '';
  Children.forEach(children, (c) => {
    if (typeof c === 'string' || typeof c === 'number' || typeof c === 'bigint') text += String(c);
    else if (isValidElement<{ children?: ReactNode }>(c)) text += headingText(c.props.children);
  });
  return text;
}

/**
 * The page's or step's `<h1>`. When a step replaces another (not on the first heading of
 * the page), focus moves to it, so keyboard and screen-reader users start at the new
 * content. A step swapped in by the same component would reuse this component, so the
 * focus follows the heading's text, not only its mounting; and the `<h1>` is keyed by
 * its text, so a new step's heading is a new element that the focus really moves to
 * (announced), even when the previous step's heading had it.
 */
export function Heading({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  const text = headingText(children);
  // The text last focused for (StrictMode runs a mount's effects twice: once is enough).
  const shown = useRef<string | null>(null);
  useEffect(() => {
    if (shown.current === text) return;
    shown.current = text;
    if (firstHeading) {
      firstHeading = false;
      return;
    }
    ref.current?.focus();
  }, [text]);
  return (
    <h1 key={text} ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}
