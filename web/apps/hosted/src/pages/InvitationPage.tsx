import { useEffect, useState } from 'react';
import { Continue } from '../components/Continue';
import { Alert } from '../components/Frame';
import { Heading } from '../components/Heading';
import { SignedIn } from '../components/SignedIn';
import { SignInForm } from '../components/SignInForm';
import { publicApi, userApi, type InvitationPreview, type SessionAnswer } from '../lib/api';
import { describeError } from '../lib/errors';
import { appHost, pageUrl } from '../lib/query';
import { Tokens } from '../lib/tokens';
import type { PageProps } from './props';

type Preview = { kind: 'loading' } | { kind: 'failed'; message: string } | { kind: 'ready'; invitation: InvitationPreview };

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
    const org = joined?.name ?? place;
    if (continuing && params.handoff) {
      return <Continue pk={pk} base={tokens} handoff={params.handoff} preselect={params.organization} />;
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

  // A passkey sign-in is of an existing user: accept with the new session, then enter the organization.
  const withPasskey = async (answer: SessionAnswer) => {
    setError(null);
    const t = new Tokens(answer);
    try {
      const token = await t.accessToken();
      const accepted = await userApi.acceptInvitation(token, code);
      const org = accepted.membership?.organization_id;
      onSignedIn(org ? await userApi.switchOrg(token, org) : answer);
    } catch (e) {
      setError(describeError(e));
      void userApi.signOut(answer.access_token).catch(() => undefined);
    }
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
      onSignedIn={(answer) => void withPasskey(answer)}
    />
  );
}
