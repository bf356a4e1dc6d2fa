import { Continue } from '../components/Continue';
import { Alert } from '../components/Frame';
import { Heading } from '../components/Heading';
import { SignedIn } from '../components/SignedIn';
import { SignInForm } from '../components/SignInForm';
import { handoffReturn } from '../lib/returns';
import { AuthorizationPage } from './AuthorizationPage';
import type { PageProps } from './props';

/**
 * /hosted/sign-in: an app sends its users here (`redirect_url`, `code_challenge`,
 * `state`, optionally `organization` and `login_hint`); after sign-in they choose an
 * organization and return to the app with a handoff code (or, for an email whose
 * organization has an SSO connection, sign in at its identity provider, from where the
 * server returns to the app itself). The server's /oauth2/authorize
 * sends an OAuth client's users here with `authorization` instead (AuthorizationPage).
 * Without either the page signs in for this page alone (to add a passkey).
 */
export function SignInPage(props: PageProps) {
  const { pk, project, params, search, tokens, onSignedIn, onSignOut } = props;
  if (params.problem) {
    return (
      <>
        <Heading>This sign-in link is not valid</Heading>
        <Alert>The app sent an incomplete sign-in request: {params.problem}</Alert>
        <p>Go back to the app and start signing in again.</p>
      </>
    );
  }
  if (params.authorization) return <AuthorizationPage {...props} request={params.authorization} />;
  if (!tokens) {
    return (
      <SignInForm
        pk={pk}
        project={project}
        search={search}
        flow="sign-in"
        email={params.loginHint}
        title={`Sign in to ${project.name}`}
        onSignedIn={(answer) => onSignedIn(answer)}
        ssoFor={params.handoff}
      />
    );
  }
  if (params.handoff) {
    return (
      <Continue
        base={tokens}
        to={handoffReturn(pk, params.handoff)}
        preselect={params.organization}
        onSignOut={onSignOut}
      />
    );
  }
  return <SignedIn project={project} tokens={tokens} onSignOut={onSignOut} />;
}
