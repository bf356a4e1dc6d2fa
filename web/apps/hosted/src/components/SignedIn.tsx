import type { ReactNode } from 'react';
import type { Project } from '../lib/api';
import { activeMemberships } from '../lib/flow';
import type { Tokens } from '../lib/tokens';
import { AddPasskey } from './AddPasskey';
import { Heading } from './Heading';

/** Signed in without an app to return to: who, their organizations, add a passkey, sign out. */
export function SignedIn({
  project,
  tokens,
  onSignOut,
  title = 'You are signed in',
  children,
}: {
  project: Project;
  tokens: Tokens;
  onSignOut: () => void;
  title?: string;
  children?: ReactNode;
}) {
  const orgs = activeMemberships(tokens.session.memberships);
  return (
    <>
      <Heading>{title}</Heading>
      <p>
        Signed in to {project.name} as <strong>{tokens.session.user.email}</strong>.
      </p>
      {children}
      {orgs.length > 0 ? (
        <>
          <h2>Your organizations</h2>
          <ul className="plain">
            {orgs.map((m) => (
              <li key={m.organization.id}>
                {m.organization.name} <span className="muted">({m.role})</span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <h2>Passkeys</h2>
      <p className="hint">A passkey signs you in with this device’s screen lock instead of an email link.</p>
      <AddPasskey tokens={tokens} />
      <div className="actions">
        <button type="button" className="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </>
  );
}
