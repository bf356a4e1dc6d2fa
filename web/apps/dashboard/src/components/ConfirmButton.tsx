import { useEffect, useRef, useState } from 'react';

interface Props {
  /** The button's text ("Delete", "Revoke"). */
  label: string;
  /** What it acts on, for screen readers ("Acme"): "Delete Acme". */
  subject: string;
  onConfirm: () => Promise<void>;
}

/**
 * A destructive action in two steps: the button, then "Confirm" and "Cancel". Focus
 * moves to Confirm when it appears and back to the button on Cancel.
 */
export function ConfirmButton({ label, subject, onConfirm }: Props) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const startRef = useRef<HTMLButtonElement>(null);
  const toggled = useRef(false);

  useEffect(() => {
    if (!toggled.current) return;
    (confirming ? confirmRef : startRef).current?.focus();
  }, [confirming]);

  const toggle = (on: boolean) => {
    toggled.current = true;
    setConfirming(on);
  };

  if (!confirming) {
    return (
      <button type="button" className="secondary" ref={startRef} onClick={() => toggle(true)}>
        {label}
        <span className="visually-hidden"> {subject}</span>
      </button>
    );
  }
  return (
    <span className="confirm">
      <button
        type="button"
        className="danger"
        ref={confirmRef}
        disabled={busy}
        onClick={() => {
          setBusy(true);
          onConfirm().finally(() => setBusy(false));
        }}
      >
        Confirm {label.toLowerCase()}
        <span className="visually-hidden"> {subject}</span>
      </button>
      <button type="button" className="secondary" onClick={() => toggle(false)}>
        Cancel
      </button>
    </span>
  );
}
