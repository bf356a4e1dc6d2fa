import { useId } from 'react';
import { MODES, type Mode } from '../lib/modes';

export interface ModeCardsProps {
  /** The fieldset's legend. */
  legend: string;
  /** The radio group's name. */
  name: string;
  value: Mode | null;
  onChange: (mode: Mode) => void;
  /** The tenant's mode now, marked "current" (Settings). */
  current?: Mode;
  /** Why a mode cannot be chosen, or null when it can. */
  blockedReason?: (mode: Mode) => string | null;
}

/**
 * The three modes as radio cards, each with its one-line explanation. A mode that
 * cannot be chosen is disabled, and its reason is shown as a tooltip on hover (and is
 * the radio's description for assistive technology).
 */
export function ModeCards({ legend, name, value, onChange, current, blockedReason }: ModeCardsProps) {
  const base = useId();
  return (
    <fieldset className="mode-cards">
      <legend>{legend}</legend>
      {MODES.map((m) => {
        const id = `${base}-${m.id}`;
        const reason = blockedReason?.(m.id) ?? null;
        const describedBy = [`${id}-summary`, reason ? `${id}-reason` : null].filter(Boolean).join(' ');
        return (
          <div
            key={m.id}
            className="mode-card"
            data-mode={m.id}
            data-checked={value === m.id ? 'true' : undefined}
            data-disabled={reason ? 'true' : undefined}
          >
            <input
              type="radio"
              id={id}
              name={name}
              value={m.id}
              checked={value === m.id}
              disabled={reason !== null}
              aria-describedby={describedBy}
              onChange={() => onChange(m.id)}
            />
            <label htmlFor={id}>
              <span className="mode-title">
                {m.title}
                {current === m.id ? <span className="badge">current</span> : null}
              </span>
              <span className="mode-summary" id={`${id}-summary`}>
                {m.summary}
              </span>
            </label>
            {reason ? (
              <span className="tooltip" role="tooltip" id={`${id}-reason`}>
                {reason}
              </span>
            ) : null}
          </div>
        );
      })}
    </fieldset>
  );
}
