import { Continue } from '../components/Continue';
import { Alert } from '../components/Frame';
import { Heading } from '../components/Heading';
import { SignedIn } from '../components/SignedIn';
import { SignInForm } from '../components/SignInForm';
import type { PageProps } from './props';

/**
 * /hosted/sign-in: an app sends its users here (`redirect_url`, `code_challenge`,
 * `state`, optionally `organization` and `login_hint`); after sign-in they choose an
 * organization and return to the app with a handoff code. Without redirect parameters
 * the page signs in for this page alone (to add a passkey).
 */
export function SignInPage({ pk, project, params, search, tokens, onSignedIn, onSignOut }: PageProps) {
  if (params.problem) {
    return (
      <>
        <Heading>This sign-in link is not valid</Heading>
        <Alert>The app sent an incomplete sign-in request: {params.problem}</Alert>
        <p>Go back to the app and start signing in again.</p>
      </>
    );
  }
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
      />
    );
  }
  if (params.handoff) {
    return (
      <Continue pk={pk} base={tokens} handoff={params.handoff} preselect={params.organization} onSignOut={onSignOut} />
    );
  }
  return <SignedIn project={project} tokens={tokens} onSignOut={onSignOut} />;
}
