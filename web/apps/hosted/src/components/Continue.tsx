import { useState } from 'react';
import { activeMemberships, nextStep, organizationName } from '../lib/flow';
import { appHost, type Handoff } from '../lib/query';
import type { Tokens } from '../lib/tokens';
import { Chooser } from './Chooser';
import { EnterOrganization } from './EnterOrganization';
import { ReturnToApp } from './ReturnToApp';

type Step = { kind: 'choose' } | { kind: 'enter'; organizationId: string } | { kind: 'return'; tokens: Tokens };

/**
 * After a sign-in that returns to an app: choose an organization (several active
 * memberships and none asked for), enter it (step-up when its policy asks), then hand
 * the app a code. One membership is entered straight away; none returns without an
 * organization.
 */
export function Continue({
  pk,
  base,
  handoff,
  preselect,
}: {
  pk: string;
  base: Tokens;
  handoff: Handoff;
  preselect: string | null;
}) {
  const memberships = base.session.memberships;
  const options = activeMemberships(memberships);
  const [step, setStep] = useState<Step>(() => {
    const next = nextStep(memberships, preselect);
    if (next.kind === 'choose') return { kind: 'choose' };
    if (next.kind === 'switch') return { kind: 'enter', organizationId: next.organizationId };
    return { kind: 'return', tokens: base };
  });
  // Back to the chooser when there is a choice to make (or the organization asked for failed).
  const canChoose = options.length > 1 || (preselect !== null && options.length > 0);
  const choose = canChoose ? () => setStep({ kind: 'choose' }) : null;

  switch (step.kind) {
    case 'choose':
      return (
        <Chooser
          title="Choose an organization"
          intro={
            <p>
              Signed in as <strong>{base.session.user.email}</strong>. Which organization do you want to use in{' '}
              <strong>{appHost(handoff)}</strong>?
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
      return <ReturnToApp pk={pk} tokens={step.tokens} handoff={handoff} onBack={step.tokens === base ? null : choose} />;
  }
}
