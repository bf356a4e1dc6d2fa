import { useEffect, useState } from 'react';
import { Continue } from '../components/Continue';
import { EnterOrganization } from '../components/EnterOrganization';
import { Alert } from '../components/Frame';
import { Heading } from '../components/Heading';
import { SignedIn } from '../components/SignedIn';
import { SignInForm } from '../components/SignInForm';
import { ApiError, publicApi, userApi, type InvitationPreview, type MembershipSummary, type SessionAnswer } from '../lib/api';
import { describeError } from '../lib/errors';
import { appHost, pageUrl } from '../lib/query';
import { handoffReturn } from '../lib/returns';
import type { PageProps } from './props';

type Preview = { kind: 'loading' } | { kind: 'failed'; message: string } | { kind: 'ready'; invitation: InvitationPreview };

/** Accept's refusals that mean the user is in the organization already: accepted, for the page. */
const ACCEPTED_ALREADY = new Set(['already_member', 'invitation_accepted']);

/** Whether an accept call's error means the invitation stands accepted (`already_member`, `invitation_accepted`). */
export function acceptedAnyway(e: unknown): boolean {
  return e instanceof ApiError && ACCEPTED_ALREADY.has(e.code);
}

const STATE_TEXT: Record<string, string> = {
  accepted: 'This invitation was accepted already. Sign in to continue.',
  expired: 'This invitation has expired. Ask the person who invited you for a new one.',
  revoked: 'This invitation was withdrawn.',
};

/**
 * /hosted/invitation?pk=…&code=inv_…[&redirect_url…]: who invites the user where, then
 * sign-in by magic link (the verify call carries the code, which accepts it) or passkey
 * (then `POST /v1/invitations/accept`), "You joined …", and on to the app when it sent
 * redirect parameters.
 */
export function InvitationPage({ pk, project, params, search, tokens, onSignedIn, onSignOut }: PageProps) {
  const code = params.invitationCode;
  const [preview, setPreview] = useState<Preview>({ kind: 'loading' });
  const [error, setError] = useState<string | null>(null);
  const [continuing, setContinuing] = useState(false);
  // Accepted after a passkey sign-in, but the switch into the organization failed (network,
  // step_up_required): the session stays, and EnterOrganization (or Continue) switches.
  const [toEnter, setToEnter] = useState<{ id: string; name: string } | null>(null);

  useEffect(() => {
    if (!code) return;
    let live = true;
    publicApi(pk)
      .invitation(code)
      .then(
        (invitation) => live && setPreview({ kind: 'ready', invitation }),
        (e: unknown) => live && setPreview({ kind: 'failed', message: describeError(e) }),
      );
    return () => {
      live = false;
    };
  }, [pk, code]);

  if (!code) {
    return (
      <>
        <Heading>This invitation link is incomplete</Heading>
        <Alert>The link has no invitation code. Open the link from the invitation email again.</Alert>
      </>
    );
  }

  const invitation = preview.kind === 'ready' ? preview.invitation : null;
  const place = invitation?.organization?.name ?? project.name;

  if (tokens) {
    const joined = tokens.session.active_organization;
    const org = joined?.name ?? toEnter?.name ?? place;
    const signOut = () => {
      setToEnter(null);
      setContinuing(false);
      onSignOut();
    };
    if (continuing && params.handoff) {
      return (
        <Continue
          base={tokens}
          to={handoffReturn(pk, params.handoff)}
          preselect={params.organization ?? toEnter?.id ?? null}
          onSignOut={signOut}
        />
      );
    }
    if (toEnter && !joined && !params.handoff) {
      return (
        <EnterOrganization
          key={toEnter.id}
          base={tokens}
          organizationId={toEnter.id}
          name={toEnter.name}
          onEntered={(entered) => {
            setToEnter(null);
            onSignedIn(entered.session);
          }}
          onBack={signOut}
          backLabel="Sign out"
        />
      );
    }
    const intro = (
      <p role="status">
        You are now a member of <strong>{org}</strong>
        {joined?.role ? ` as ${joined.role}` : ''}.
      </p>
    );
    if (params.handoff) {
      return (
        <>
          <Heading>You joined {org}</Heading>
          {intro}
          <button type="button" onClick={() => setContinuing(true)}>
            Continue to {appHost(params.handoff)}
          </button>
        </>
      );
    }
    return (
      <SignedIn project={project} tokens={tokens} onSignOut={onSignOut} title={`You joined ${org}`}>
        {intro}
      </SignedIn>
    );
  }

  if (preview.kind === 'loading') {
    return (
      <>
        <Heading>Your invitation</Heading>
        <p role="status">Loading the invitation…</p>
      </>
    );
  }
  if (preview.kind === 'failed') {
    return (
      <>
        <Heading>This invitation cannot be used</Heading>
        <Alert>{preview.message}</Alert>
      </>
    );
  }

  const inv = preview.invitation;
  if (inv.state !== 'pending') {
    return (
      <>
        <Heading>Invitation to {place}</Heading>
        <Alert>{STATE_TEXT[inv.state] ?? `This invitation is ${inv.state}.`}</Alert>
        {inv.state === 'accepted' ? (
          <p>
            <a href={pageUrl('sign-in', search, ['code', 'invitation_code'])}>Sign in to {project.name}</a>
          </p>
        ) : null}
      </>
    );
  }

  // A passkey sign-in is of an existing user: accept with the new session, then enter the
  // organization. A refused accept ends that session; once accepted, the session stays
  // whatever the switch does (EnterOrganization or Continue tries it again, step-up included).
  const withPasskey = async (answer: SessionAnswer) => {
    setError(null);
    const token = answer.access_token;
    let org = inv.organization?.id ?? null;
    let role = inv.role;
    try {
      const accepted = await userApi.acceptInvitation(token, code);
      org = accepted.membership?.organization_id ?? org;
      role = accepted.membership?.role ?? role;
    } catch (e) {
      if (!acceptedAnyway(e)) {
        setError(describeError(e));
        void userApi.signOut(token).catch(() => undefined);
        return;
      }
    }
    if (!org) {
      onSignedIn(answer);
      return;
    }
    let switched: SessionAnswer | null = null;
    try {
      switched = await userApi.switchOrg(token, org);
    } catch {
      // Kept: the session is signed in and a member; the next step switches again.
    }
    if (switched) {
      onSignedIn(switched);
      return;
    }
    // The sign-in's answer predates the membership: list it, for the names and the next step.
    const known = inv.organization?.id === org ? inv.organization : null;
    const organization = { id: org, name: known?.name ?? org, slug: known?.slug ?? org };
    setToEnter({ id: org, name: organization.name });
    onSignedIn(withMembership(answer, { organization, role: role ?? 'member', status: 'active' }));
  };

  const inviter = inv.inviter ? (inv.inviter.name ?? inv.inviter.email) : null;
  const intro = (
    <div className="invitation">
      <p>
        {inviter ? (
          <>
            <strong>{inviter}</strong> invited you to join{' '}
          </>
        ) : (
          'You are invited to join '
        )}
        <strong>{place}</strong>
        {inv.organization ? ` on ${project.name}` : ''}
        {inv.role ? (
          <>
            {' '}
            as <strong>{inv.role}</strong>
          </>
        ) : null}
        .
      </p>
      <p className="hint">Sign in as {inv.email} to accept.</p>
      <Alert>{error}</Alert>
    </div>
  );
  return (
    <SignInForm
      pk={pk}
      project={project}
      search={search}
      flow="invitation"
      email={inv.email}
      title={`Join ${place}`}
      intro={intro}
      onSignedIn={withPasskey}
    />
  );
}

/** A session answer with one more active membership (unless it lists that organization already). */
export function withMembership(answer: SessionAnswer, m: MembershipSummary): SessionAnswer {
  const ms = answer.memberships ?? [];
  if (ms.some((x) => x.organization.id === m.organization.id && x.status === 'active')) return answer;
  return { ...answer, memberships: [...ms.filter((x) => x.organization.id !== m.organization.id), m] };
}
