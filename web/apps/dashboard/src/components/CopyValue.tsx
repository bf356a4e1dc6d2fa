import { useId, useState, type ReactNode } from 'react';

/**
 * A value to copy (a URL to paste elsewhere): a labelled read-only field, a Copy button
 * and what became of the copy, announced.
 */
export function CopyValue({
  label,
  value,
  copyLabel,
  children,
}: {
  /** The field's label ("Discovery URL"). */
  label: string;
  value: string;
  /** The rest of the button's accessible name, after "Copy" ("the discovery URL"). */
  copyLabel: string;
  /** A hint under the field. */
  children?: ReactNode;
}) {
  const id = useId();
  const [copied, setCopied] = useState('');

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('Copying is not allowed here: select the text and copy it by hand.');
    }
  };

  return (
    <div className="copy-value">
      <label htmlFor={`${id}-value`}>{label}</label>
      <div className="copy-line">
        <input
          id={`${id}-value`}
          readOnly
          value={value}
          spellCheck={false}
          aria-describedby={children ? `${id}-hint` : undefined}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button type="button" className="secondary" onClick={() => void copy()}>
          Copy<span className="visually-hidden"> {copyLabel}</span>
        </button>
      </div>
      {children ? (
        <p className="hint" id={`${id}-hint`}>
          {children}
        </p>
      ) : null}
      <p role="status" className="hint">
        {copied}
      </p>
    </div>
  );
}

/** The server's origin as the browser sees it (the dashboard is served by the binary, on the issuer's origin). */
export function serverOrigin(): string {
  return typeof window === 'undefined' ? '' : window.location.origin;
}
