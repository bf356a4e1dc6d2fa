// A tiny page over @authio/js: one client per tab, every tab of the origin sharing
// localStorage (the token sets) and navigator.locks (the refresh locks).
//
// Test-only wiring: the URL fragment carries `pk=<publishable key>`, optionally
// `signin=<sign-in token>` (exchanged once with verifySignInToken, then removed from the
// URL), `tab=<a name to show>`, `locks=off` (cross-tab locking turned off) and
// `journal=off` (the SDK's hand-over journal turned off: `indexedDB: null`). The API is
// on this page's origin (`/v1`).
import { createAuthio, isAuthioError, type AuthioClient, type AuthioEvents, type Me } from '@authio/js';
import { decodeClaims } from './jwt';

interface Org {
  id: string;
  name: string;
  status: string;
}

const params = new URLSearchParams(location.hash.slice(1));
const publishableKey = params.get('pk') ?? '';
const signInToken = params.get('signin');
const tabName = params.get('tab') ?? '';
/** `locks=off`: no cross-tab locking (as in a page that is not a secure context), to show what the locks prevent. */
const locksOff = params.get('locks') === 'off';
/** `journal=off`: no hand-over journal (the SDK as it was before it had one), to show what the journal prevents. */
const journalOff = params.get('journal') === 'off';
if (signInToken) {
  params.delete('signin');
  history.replaceState(null, '', `${location.pathname}${location.search}#${params.toString()}`);
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing`);
  return el as T;
};
const show = (id: string, text: string | number): void => {
  $(id).textContent = String(text);
};

let orgs: Org[] = [];
let completed = 0;
const nameOf = (id: string | null | undefined): string =>
  id === null ? 'no organization' : id === undefined ? '—' : (orgs.find((o) => o.id === id)?.name ?? id);

function describe(e: unknown): string {
  if (isAuthioError(e)) return e.code;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Runs one user action; its failure shows as "Last error" (sticky) instead of being thrown. */
async function action(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    show('last-error', describe(e));
    console.info('action failed:', e);
  } finally {
    completed += 1;
    render();
  }
}

function render(): void {
  const c = authio;
  const id = c.organizationId;
  show('active-org', id === undefined ? 'not signed in' : nameOf(id));
  show('active-org-id', id === undefined ? '—' : (id ?? 'none'));
  show('ops', completed);
  for (const b of document.querySelectorAll<HTMLButtonElement>('#switch-buttons button')) {
    b.setAttribute('aria-pressed', String(b.dataset.org === id));
  }
  const cached = c
    .cachedContexts()
    .map((x) => `${x.organizationId === null ? 'none' : `${nameOf(x.organizationId)} ${x.organizationId}`} (session ${x.sessionId})`)
    .sort();
  const list = $('cached');
  list.replaceChildren(
    ...cached.map((t) => {
      const li = document.createElement('li');
      li.textContent = t;
      return li;
    }),
  );
}

function logEvent<E extends keyof AuthioEvents>(name: E, payload: AuthioEvents[E]): void {
  const li = document.createElement('li');
  li.dataset.event = name;
  const p = payload as Record<string, unknown>;
  const parts: string[] = [name];
  if ('organizationId' in p) parts.push(`organization=${(p.organizationId as string | null) ?? 'none'}`);
  if ('code' in p) parts.push(`code=${String(p.code)}`);
  if ('reason' in p) parts.push(`reason=${String(p.reason)}`);
  if ('sessionId' in p) parts.push(`session=${String(p.sessionId)}`);
  li.textContent = parts.join(' ');
  $('events').append(li);
}

/** Asks the SDK for a context's access token and shows its claims. */
async function showToken(organizationId: string | null | undefined, forceRefresh: boolean): Promise<void> {
  const token = await authio.getToken({ organizationId, forceRefresh });
  show('token-for', organizationId === undefined ? '—' : (organizationId ?? 'none'));
  if (token === null) {
    show('act-org', 'null');
    show('act-org-name', 'null');
    show('jti', 'null');
    return;
  }
  const claims = decodeClaims(token);
  show('act-org', claims.act_org ?? 'none');
  show('act-org-name', nameOf(claims.act_org ?? null));
  show('jti', claims.jti ?? '?');
}

/** GET /v1/me with this tab's token; on a 401, once more with a forced refresh. */
async function callApi(): Promise<void> {
  const org = authio.organizationId;
  const me = async (token: string) => fetch('/v1/me', { headers: { authorization: `Bearer ${token}` } });
  let token = await authio.getToken({ organizationId: org });
  if (!token) return show('api-org', 'no token');
  let res = await me(token);
  if (res.status === 401) {
    token = await authio.getToken({ organizationId: org, forceRefresh: true });
    if (!token) return show('api-org', 'no token after refresh');
    res = await me(token);
  }
  if (!res.ok) throw new Error(`GET /v1/me answered ${res.status}`);
  const body = (await res.json()) as Me;
  show('api-org', body.active_organization?.id ?? 'none');
}

function setOrgs(list: Org[]): void {
  orgs = list;
  const switches = $('switch-buttons');
  const tokens = $('org-token-buttons');
  switches.replaceChildren();
  tokens.replaceChildren();
  for (const o of orgs) {
    const s = document.createElement('button');
    s.type = 'button';
    s.textContent = `Switch to ${o.name}`;
    s.dataset.org = o.id;
    s.addEventListener('click', () => void action(async () => void (await authio.switchOrganization(o.id))));
    switches.append(s);
    const t = document.createElement('button');
    t.type = 'button';
    t.textContent = `Get ${o.name} token`;
    t.addEventListener('click', () => void action(() => showToken(o.id, false)));
    tokens.append(t);
  }
}

// ---- the refresh loop (forced refreshes of this tab's context, one after the other) ----

let loopRunning = false;
let loopIterations = 0;
let loopFailures = 0;

function loopProblem(text: string): void {
  loopFailures += 1;
  const li = document.createElement('li');
  li.textContent = `#${loopIterations}: ${text}`;
  $('loop-problems').append(li);
}

async function refreshLoop(organizationId: string | null | undefined): Promise<void> {
  show('loop-state', 'running');
  while (loopRunning) {
    try {
      const token = await authio.getToken({ organizationId, forceRefresh: true });
      if (token === null) loopProblem('getToken answered null');
      else if ((decodeClaims(token).act_org ?? null) !== (organizationId ?? null)) {
        loopProblem(`act_org ${String(decodeClaims(token).act_org)} instead of ${String(organizationId)}`);
      }
    } catch (e) {
      loopProblem(describe(e));
    }
    loopIterations += 1;
    show('loop-iterations', loopIterations);
    show('loop-failures', loopFailures);
    await new Promise((r) => setTimeout(r, 5));
  }
  show('loop-state', 'stopped');
}

// ---- start ----

let authio: AuthioClient;

async function start(): Promise<void> {
  show('tab-name', `${tabName ? `— tab ${tabName}` : ''}${locksOff ? ' (no Web Locks)' : ''}${journalOff ? ' (no hand-over journal)' : ''}`);
  if (!publishableKey) throw new Error('no publishable key in the URL fragment (#pk=…)');
  authio = createAuthio({
    baseUrl: location.origin,
    publishableKey,
    ...(locksOff ? { locks: null } : {}),
    ...(journalOff ? { indexedDB: null } : {}),
  });
  for (const e of ['signedIn', 'tokenRefreshed', 'contextDropped', 'signedOut'] as const) {
    authio.on(e, (p) => {
      logEvent(e, p);
      render();
    });
  }
  // Another tab wrote the shared storage: show what it holds now.
  window.addEventListener('storage', (e) => {
    if (e.key === null || e.key.startsWith('authio:')) render();
  });

  $('get-token').addEventListener('click', () => void action(() => showToken(authio.organizationId, false)));
  $('force-refresh').addEventListener('click', () => void action(() => showToken(authio.organizationId, true)));
  $('call-api').addEventListener('click', () => void action(callApi));
  $('sign-out').addEventListener('click', () => void action(() => authio.signOut()));
  $('loop-start').addEventListener('click', () => {
    if (loopRunning) return;
    loopRunning = true;
    void refreshLoop(authio.organizationId);
  });
  $('loop-stop').addEventListener('click', () => {
    loopRunning = false;
  });

  if (signInToken) await authio.verifySignInToken(signInToken);
  if (authio.organizationId !== undefined) {
    const me = await authio.getUser();
    show('user', me.user.email);
    setOrgs(me.memberships.map((m) => ({ id: m.organization.id, name: m.organization.name, status: m.status })));
    await showToken(authio.organizationId, false);
  }
  render();
}

start().then(
  () => show('ready', 'yes'),
  (e: unknown) => {
    show('last-error', describe(e));
    show('ready', 'failed');
    console.info('start failed:', e);
  },
);
