import { useEffect, useRef, type ReactNode } from 'react';

let firstRender = true;

/**
 * The page's or step's `<h1>`. When a step replaces another (not on the first render of
 * the page), focus moves to it, so keyboard and screen-reader users start at the new
 * content.
 */
export function Heading({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (firstRender) {
      firstRender = false;
      return;
    }
    ref.current?.focus();
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}
