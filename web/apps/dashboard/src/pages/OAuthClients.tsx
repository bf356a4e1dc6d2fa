import { useState, type FormEvent } from 'react';
import { ConfirmButton } from '../components/ConfirmButton';
import { CopyValue, serverOrigin } from '../components/CopyValue';
import { ErrorLine, WithDashboardKey } from '../components/DashboardKey';
import { Pager } from '../components/Pager';
import { SecretOnce } from '../components/SecretOnce';
import { useConsole } from '../context';
import {
  ApiError,
  type NewOAuthClient,
  type OAuthClient,
  type OAuthClientType,
  type ProjectApi,
  type RegisteredOAuthClient,
} from '../lib/api';
import { failure } from '../lib/errors';
import { formatDate } from '../lib/format';
import { usePagedList } from '../lib/usePagedList';
import { NoTenant, PageTitle } from './PageTitle';

const PER_PAGE = 25;

/** The scopes a client may be given; `openid` always. */
export const SCOPES: ReadonlyArray<{ value: string; label: string }> = [
  { value: 'openid', label: 'openid (always)' },
  { value: 'email', label: 'email' },
  { value: 'profile', label: 'profile' },
  { value: 'offline_access', label: 'offline_access (refresh tokens)' },
  { value: 'organization', label: 'organization' },
];

/** The redirect URIs typed one per line: trimmed, blank lines dropped. */
export function parseRedirectUris(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** `<origin>/.well-known/openid-configuration`. */
export function discoveryUrl(origin: string): string {
  return `${origin}/.well-known/openid-configuration`;
}

/**
 * The applications the project's OpenID Connect provider serves: the list
 * (GET /v1/oauth-clients, paged), registration (POST, a confidential client's secret
 * shown this once), rotating a confidential client's secret (POST …/rotate-secret, shown
 * once) and deleting one (DELETE).
 */
export function OAuthClients() {
  const { home } = useConsole();
  const tenant = home.tenant;
  return (
    <>
      <PageTitle title="OAuth clients" />
      <p className="lead">
        Applications that sign their users in with this tenant through OpenID Connect (authorization code flow with
        PKCE). A client's id is its <code>client_id</code>.
      </p>
      <section className="card" aria-labelledby="discovery-heading">
        <h2 id="discovery-heading">For developers</h2>
        <CopyValue label="Discovery URL" value={discoveryUrl(serverOrigin())} copyLabel="the discovery URL">
          Any OpenID Connect library configures itself from this document (issuer, endpoints, keys).
        </CopyValue>
      </section>
      {!tenant ? (
        <NoTenant />
      ) : (
        <WithDashboardKey
          tenantId={tenant.id}
          heading="Connect to the OAuth client API"
          why="OAuth clients are managed with a secret key of the tenant."
        >
          {(project) => <ClientsView project={project} />}
        </WithDashboardKey>
      )}
    </>
  );
}

/** A secret to show once: the client it belongs to and whether it was just rotated. */
interface ShownSecret {
  client: { id: string; name: string };
  secret: string;
  rotated: boolean;
}

export function ClientsView({ project }: { project: ProjectApi }) {
  const [error, setError] = useState<string | null>(null);
  const [shown, setShown] = useState<ShownSecret | null>(null);
  const [status, setStatus] = useState('');
  const list = usePagedList(
    (after) =>
      project.oauthClients({ limit: PER_PAGE, after }).then((p) => {
        setError(null);
        return p;
      }),
    [project],
    (e) => setError(failure(e)),
  );
  const { page, reload } = list;

  const registered = (c: RegisteredOAuthClient) => {
    if (c.client_secret) {
      setStatus('');
      setShown({ client: c, secret: c.client_secret, rotated: false });
    } else {
      setShown(null);
      setStatus(`Registered ${c.name} (public client ${c.id}): it has no secret and uses PKCE.`);
    }
    reload();
  };

  return (
    <>
      {shown ? (
        <SecretOnce
          key={shown.secret}
          title={
            shown.rotated
              ? `Copy the new client secret of ${shown.client.name} now`
              : `Copy the client secret of ${shown.client.name} now`
          }
          label="Client secret"
          secret={shown.secret}
          onDone={() => setShown(null)}
        >
          {shown.rotated ? 'The previous secret stopped working. ' : ''}
          Authio keeps only its hash: if it is lost, rotate the secret. The client's id is{' '}
          <code>{shown.client.id}</code>.
        </SecretOnce>
      ) : null}
      <p role="status" className="hint">
        {status}
      </p>
      <NewClient project={project} onRegistered={registered} />
      <section aria-labelledby="client-list-heading">
        <h2 id="client-list-heading">Clients</h2>
        <ErrorLine error={error} />
        {page === null ? (
          error ? null : (
            <p aria-live="polite">Loading…</p>
          )
        ) : page.data.length === 0 ? (
          <p>No OAuth clients yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Redirect URIs</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {page.data.map((c) => (
                <ClientRow
                  key={c.id}
                  client={c}
                  project={project}
                  onRotated={(secret) => {
                    setStatus('');
                    setShown({ client: c, secret, rotated: true });
                  }}
                  onDeleted={() => {
                    setShown((s) => (s?.client.id === c.id ? null : s));
                    setStatus(`Deleted ${c.name}.`);
                    reload();
                  }}
                />
              ))}
            </tbody>
          </table>
        )}
        {page ? (
          <Pager
            label="Client pages"
            trail={list.trail}
            perPage={PER_PAGE}
            rows={page.data.length}
            nextCursor={page.next_cursor}
            onBack={list.back}
            onForward={list.forward}
            backLabel="Previous page"
            forwardLabel="Next page"
          />
        ) : null}
      </section>
    </>
  );
}

function ClientRow({
  client,
  project,
  onRotated,
  onDeleted,
}: {
  client: OAuthClient;
  project: ProjectApi;
  onRotated: (secret: string) => void;
  onDeleted: () => void;
}) {
  const [error, setError] = useState<string | null>(null);
  // Bumped by each rotation, so its button starts over (no "Confirm" left standing).
  const [rotations, setRotations] = useState(0);

  const rotate = async () => {
    setError(null);
    try {
      onRotated((await project.rotateOAuthClientSecret(client.id)).client_secret);
      setRotations((n) => n + 1);
    } catch (e) {
      setError(failure(e));
    }
  };

  const remove = async () => {
    setError(null);
    try {
      await project.deleteOAuthClient(client.id);
      onDeleted();
    } catch (e) {
      setError(failure(e));
    }
  };

  return (
    <tr data-client-id={client.id}>
      <td>
        {client.name}
        <br />
        <code className="muted small">{client.id}</code>
      </td>
      <td>{client.client_type === 'confidential' ? 'Confidential' : 'Public (PKCE)'}</td>
      <td>
        {client.redirect_uris.map((u) => (
          <code key={u} className="wrap block">
            {u}
          </code>
        ))}
        {client.backchannel_logout_uri ? (
          <span className="small muted block">
            Back-channel logout: <code className="wrap">{client.backchannel_logout_uri}</code>
          </span>
        ) : null}
      </td>
      <td>
        {client.scopes.map((s) => (
          <code key={s} className="tag">
            {s}
          </code>
        ))}
      </td>
      <td>{formatDate(client.created_at)}</td>
      <td className="row-actions">
        {client.client_type === 'confidential' ? (
          <>
            <ConfirmButton key={rotations} label="Rotate secret" subject={client.name} onConfirm={rotate} />{' '}
          </>
        ) : null}
        <ConfirmButton label="Delete" subject={client.name} onConfirm={remove} />
        <ErrorLine error={error} />
      </td>
    </tr>
  );
}

type Field = 'name' | 'redirect_uris' | 'scopes' | 'backchannel_logout_uri' | 'client_type';

const FIELD_MESSAGES: Record<Field, string> = {
  name: 'Give the client a name of 1 to 100 characters.',
  redirect_uris:
    'Redirect URIs: 1 to 20, no repeats, each https, http on localhost, 127.0.0.1 or [::1], or an app scheme with a dot (com.example.app:/callback); no fragment, no user name or password.',
  scopes: 'Choose scopes among openid, email, profile, offline_access and organization; openid is always included.',
  backchannel_logout_uri: 'The back-channel logout URI must be https, or http on a loopback host.',
  client_type: 'The client type must be confidential or public.',
};

function NewClient({
  project,
  onRegistered,
}: {
  project: ProjectApi;
  onRegistered: (c: RegisteredOAuthClient) => void;
}) {
  const [name, setName] = useState('');
  const [type, setType] = useState<OAuthClientType>('confidential');
  const [uris, setUris] = useState('');
  const [scopes, setScopes] = useState<ReadonlySet<string>>(() => new Set(SCOPES.map((s) => s.value)));
  const [logoutUri, setLogoutUri] = useState('');
  const [error, setError] = useState<{ field: Field | null; message: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const toggleScope = (value: string, on: boolean) =>
    setScopes((s) => {
      const next = new Set(s);
      if (on) next.add(value);
      else next.delete(value);
      next.add('openid');
      return next;
    });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const n = name.trim();
    const redirectUris = parseRedirectUris(uris);
    if (!n) return setError({ field: 'name', message: 'Give the client a name.' });
    if (redirectUris.length === 0)
      return setError({ field: 'redirect_uris', message: 'Give at least one redirect URI, one per line.' });
    const body: NewOAuthClient = {
      name: n,
      client_type: type,
      redirect_uris: redirectUris,
      scopes: SCOPES.map((s) => s.value).filter((s) => s === 'openid' || scopes.has(s)),
    };
    const logout = logoutUri.trim();
    if (logout) body.backchannel_logout_uri = logout;
    setBusy(true);
    try {
      const created = await project.createOAuthClient(body);
      setName('');
      setUris('');
      setLogoutUri('');
      onRegistered(created);
    } catch (err) {
      const field = err instanceof ApiError ? (err.field as Field | undefined) : undefined;
      if (field && field in FIELD_MESSAGES) setError({ field, message: FIELD_MESSAGES[field] });
      else {
        const message = failure(err);
        if (message) setError({ field: null, message });
      }
    } finally {
      setBusy(false);
    }
  };

  const invalid = (f: Field) => (error?.field === f ? true : undefined);

  return (
    <form className="card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="new-client-heading">
      <h2 id="new-client-heading">Register a client</h2>
      <div className="row">
        <div>
          <label htmlFor="client-name">Name</label>
          <input
            id="client-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={100}
            aria-describedby="client-name-hint"
            aria-invalid={invalid('name')}
            required
          />
        </div>
        <fieldset className="inline">
          <legend>Type</legend>
          {(['confidential', 'public'] as const).map((t) => (
            <label key={t} className="radio">
              <input
                type="radio"
                name="client-type"
                value={t}
                checked={type === t}
                onChange={() => setType(t)}
              />
              {t === 'confidential' ? 'Confidential' : 'Public'}
            </label>
          ))}
        </fieldset>
      </div>
      <p className="hint" id="client-name-hint">
        Shown to users when they sign in. Confidential: a server that keeps a client secret. Public: a browser or
        native app, no secret, PKCE required.
      </p>
      <label htmlFor="client-redirect-uris">Redirect URIs (one per line)</label>
      <textarea
        id="client-redirect-uris"
        rows={3}
        value={uris}
        onChange={(e) => setUris(e.target.value)}
        spellCheck={false}
        placeholder="https://app.example.com/callback"
        aria-describedby="client-redirect-uris-hint"
        aria-invalid={invalid('redirect_uris')}
        required
      />
      <p className="hint" id="client-redirect-uris-hint">
        Matched exactly. <code>https</code>, <code>http</code> on <code>localhost</code>, or an app scheme such as{' '}
        <code>com.example.app:/callback</code>.
      </p>
      <fieldset className="inline wrap-choices">
        <legend>Scopes</legend>
        {SCOPES.map((s) => (
          <label key={s.value} className="radio">
            <input
              type="checkbox"
              name="client-scopes"
              value={s.value}
              checked={s.value === 'openid' || scopes.has(s.value)}
              disabled={s.value === 'openid'}
              onChange={(e) => toggleScope(s.value, e.target.checked)}
            />
            {s.label}
          </label>
        ))}
      </fieldset>
      <label htmlFor="client-logout-uri">Back-channel logout URI (optional)</label>
      <input
        id="client-logout-uri"
        type="url"
        value={logoutUri}
        onChange={(e) => setLogoutUri(e.target.value)}
        spellCheck={false}
        placeholder="https://app.example.com/backchannel-logout"
        aria-describedby="client-logout-uri-hint"
        aria-invalid={invalid('backchannel_logout_uri')}
      />
      <p className="hint" id="client-logout-uri-hint">
        Authio posts a logout token there when a session the client holds a grant in ends.
      </p>
      <ErrorLine error={error?.message ?? null} />
      <div className="actions">
        <button type="submit" disabled={busy}>
          Register client
        </button>
      </div>
    </form>
  );
}
