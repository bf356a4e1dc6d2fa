import { useState } from 'react';
import { activeMemberships, nextStep, organizationName } from '../lib/flow';
import type { Return } from '../lib/returns';
import type { Tokens } from '../lib/tokens';
import { Chooser } from './Chooser';
import { EnterOrganization } from './EnterOrganization';
import { Alert } from './Frame';
import { Heading } from './Heading';
import { ReturnToApp } from './ReturnToApp';

type Step =
  | { kind: 'choose' }
  | { kind: 'enter'; organizationId: string }
  | { kind: 'return'; tokens: Tokens }
  | { kind: 'not-member' };

/**
 * After a sign-in that returns to an app: choose an organization (several active
 * memberships and none asked for, or `choose`), enter it (step-up when its policy asks),
 * then go back `to` the app with a code. One membership is entered straight away; none
 * returns without an organization. An organization asked for by a user with no active
 * membership at all is explained (with a way to sign in as someone else), never
 * switched to or returned with.
 */
export function Continue({
  base,
  to,
  preselect,
  choose: forceChoice = false,
  onSignOut,
}: {
  base: Tokens;
  to: Return;
  preselect: string | null;
  /** Offer the chooser even for one organization (an OAuth client's `prompt=select_account`). */
  choose?: boolean;
  /** Sign out (then the page's sign-in form is back, for another account). */
  onSignOut: () => void;
}) {
  const memberships = base.session.memberships;
  const options = activeMemberships(memberships);
  const [step, setStep] = useState<Step>(() => {
    const next = nextStep(memberships, preselect, forceChoice);
    if (next.kind === 'choose') return { kind: 'choose' };
    if (next.kind === 'switch') return { kind: 'enter', organizationId: next.organizationId };
    if (next.kind === 'not-member') return { kind: 'not-member' };
    return { kind: 'return', tokens: base };
  });
  // Back to the chooser when there is a choice to make (or the organization asked for failed).
  const canChoose = options.length > 1 || ((preselect !== null || forceChoice) && options.length > 0);
  const choose = canChoose ? () => setStep({ kind: 'choose' }) : null;

  switch (step.kind) {
    case 'not-member':
      return (
        <>
          <Heading>You are not a member of this organization</Heading>
          <Alert>
            The app you came from asked to sign you in to an organization that <strong>{base.session.user.email}</strong>{' '}
            is not a member of, and this account is not a member of any organization yet.
          </Alert>
          <p>
            If you were invited, open the link in the invitation email. If you have another account, sign out and sign
            in with it. Otherwise ask an admin of the organization to invite you.
          </p>
          <div className="actions">
            <button type="button" onClick={onSignOut}>
              Sign out and use another account
            </button>
          </div>
        </>
      );
    case 'choose':
      return (
        <Chooser
          title="Choose an organization"
          intro={
            <p>
              Signed in as <strong>{base.session.user.email}</strong>. Which organization do you want to use in{' '}
              <strong>{to.name}</strong>?
            </p>
          }
          options={options}
          onChoose={(id) => setStep({ kind: 'enter', organizationId: id })}
        />
      );
    case 'enter':
      return (
        <EnterOrganization
          key={step.organizationId}
          base={base}
          organizationId={step.organizationId}
          name={organizationName(memberships, step.organizationId)}
          onEntered={(tokens) => setStep({ kind: 'return', tokens })}
          onBack={choose}
          backLabel="Choose another organization"
        />
      );
    case 'return':
      return <ReturnToApp tokens={step.tokens} to={to} onBack={step.tokens === base ? null : choose} />;
  }
}
