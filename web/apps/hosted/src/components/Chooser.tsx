import type { ReactNode } from 'react';
import type { MembershipSummary } from '../lib/api';
import { Heading } from './Heading';

interface Props {
  title: string;
  intro: ReactNode;
  options: readonly MembershipSummary[];
  onChoose: (organizationId: string) => void;
  disabled?: boolean;
}

/** The user's organizations as a list of buttons (name and role); choosing one enters it. */
export function Chooser({ title, intro, options, onChoose, disabled }: Props) {
  return (
    <>
      <Heading>{title}</Heading>
      {intro}
      <ul className="org-list" aria-label="Organizations">
        {options.map((m) => (
          <li key={m.organization.id}>
            <button
              type="button"
              className="org"
              aria-label={`${m.organization.name} (${m.role})`}
              onClick={() => onChoose(m.organization.id)}
              disabled={disabled}
            >
              <span className="org-name">{m.organization.name}</span>
              <span className="org-role">{m.role}</span>
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}
