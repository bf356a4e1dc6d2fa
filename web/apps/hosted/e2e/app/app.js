// The test app: @authio/js's built bundle (served as /authio.js) against the hosted pages.
// `/` with ?org=…&hint=…&state=… and a button starts signInWithRedirect; `/accept`
// (an invitation link's target) starts it with the invitation code; `/callback` runs
// handleRedirectCallback and shows what the app then holds.
import { createAuthio, handleRedirectCallback, signInWithRedirect } from '/authio.js';

const config = await (await fetch('/config.json')).json();
const authio = createAuthio({ baseUrl: config.baseUrl, publishableKey: config.publishableKey });
window.authio = authio;
const $ = (id) => document.getElementById(id);
const here = new URL(location.href);

function start(extra = {}) {
  return signInWithRedirect(authio, {
    redirectUrl: `${location.origin}/callback`,
    organizationId: here.searchParams.get('org') ?? undefined,
    loginHint: here.searchParams.get('hint') ?? undefined,
    state: here.searchParams.get('state') ?? undefined,
    ...extra,
  });
}

$('sign-in').addEventListener('click', () => {
  start().catch((e) => ($('error').textContent = `${e.code ?? 'error'}: ${e.message}`));
});

async function show(signed) {
  $('status').textContent = 'signed in';
  $('user').textContent = signed.user.email;
  $('org').textContent = signed.active_organization?.name ?? '(none)';
  $('org-id').textContent = signed.active_organization?.id ?? '(none)';
  $('state').textContent = signed.state;
  $('contexts').textContent = authio
    .cachedContexts()
    .map((c) => c.organizationId ?? 'none')
    .join(',');
  const token = await authio.getToken();
  const me = await fetch(`${config.baseUrl}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  const body = await me.json();
  $('api-org').textContent = me.ok ? (body.active_organization?.id ?? '(none)') : `HTTP ${me.status}`;
}

if (here.pathname === '/accept' && here.searchParams.get('invitation_code')) {
  await start({ invitationCode: here.searchParams.get('invitation_code') });
} else if (here.pathname === '/callback') {
  try {
    const signed = await handleRedirectCallback(authio);
    history.replaceState(null, '', '/');
    await show(signed);
  } catch (e) {
    $('status').textContent = 'failed';
    $('error').textContent = `${e.code ?? 'error'}: ${e.message}`;
  }
}
