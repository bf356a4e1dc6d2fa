import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

/**
 * A secret the API shows this once (a webhook signing secret): focus moves to its
 * heading, it can be copied, and "I have copied it" drops it from the page.
 */
export function SecretOnce({
  title,
  label,
  secret,
  children,
  onDone,
}: {
  title: string;
  /** The field's label ("Signing secret"). */
  label: string;
  secret: string;
  children?: ReactNode;
  onDone: () => void;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  const [copied, setCopied] = useState('');
  const id = useId();

  useEffect(() => {
    heading.current?.focus();
  }, [secret]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('Copying is not allowed here: select the secret and copy it by hand.');
    }
  };

  return (
    <section className="secret card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`} ref={heading} tabIndex={-1}>
        {title}
      </h2>
      <p>This is the only time the secret is shown.{children ? <> {children}</> : null}</p>
      <label htmlFor={`${id}-secret`}>{label}</label>
      <div className="row">
        <input id={`${id}-secret`} readOnly value={secret} spellCheck={false} onFocus={(e) => e.currentTarget.select()} />
        <button type="button" className="secondary" onClick={() => void copy()}>
          Copy secret
        </button>
      </div>
      <p role="status" className="hint">
        {copied}
      </p>
      <button type="button" onClick={onDone}>
        I have copied it
      </button>
    </section>
  );
}
