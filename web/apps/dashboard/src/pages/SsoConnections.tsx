import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ConfirmButton } from '../components/ConfirmButton';
import { CopyValue, serverOrigin } from '../components/CopyValue';
import { ErrorLine } from '../components/DashboardKey';
import { ApiError, type Connection, type NewConnection, type ProjectApi } from '../lib/api';
import { failure } from '../lib/errors';
import { formatDate } from '../lib/format';

/** `<origin>/v1/auth/sso/callback`: the redirect URI to register at the identity provider. */
export function ssoCallbackUrl(origin: string): string {
  return `${origin}/v1/auth/sso/callback`;
}

type Field = 'name' | 'issuer' | 'client_id' | 'client_secret' | 'jit_role';

/**
 * What to tell people about a failed connection call (with the field it concerns), or
 * null for a 401 (the dashboard key's own handler reports that).
 */
export function connectionFailure(e: unknown): { field: Field | null; message: string } | null {
  if (e instanceof ApiError) {
    switch (e.code) {
      case 'encryption_key_missing':
        return {
          field: null,
          message:
            'The server cannot store SSO connections: AUTHIO_SECRET_KEY (64 hex digits) is not set on it. Set it, restart the server and try again.',
        };
      case 'connection_discovery_failed':
        return {
          field: 'issuer',
          message: `The identity provider's discovery document (<issuer>/.well-known/openid-configuration) could not be used: check the issuer, which must be exactly the one the document names. The server said: ${e.message}`,
        };
      case 'connection_unavailable':
        return { field: 'issuer', message: 'The identity provider did not answer its discovery document. Try again later.' };
      case 'webhook_url_not_allowed':
        return { field: 'issuer', message: 'The issuer points at a private or loopback address, which is not allowed.' };
    }
    if (e.field === 'role' || e.field === 'jit_role')
      return { field: 'jit_role', message: 'No role of the project (or of this organization) has this key.' };
    if (e.field === 'issuer') return { field: 'issuer', message: 'The issuer must be a public http(s) URL.' };
    if (e.field === 'client_secret') return { field: 'client_secret', message: 'The client secret must be 1 to 1024 characters.' };
    if (e.field === 'client_id') return { field: 'client_id', message: `Check the client ID: ${e.message}` };
    if (e.field === 'name') return { field: 'name', message: 'Give the connection a name of 1 to 200 characters.' };
  }
  const message = failure(e);
  return message ? { field: null, message } : null;
}

/**
 * An organization's SSO connections (its own OpenID Connect identity provider): the list
 * (GET /v1/organizations/{id}/connections), adding one (POST; the client secret is
 * sealed by the server and never shown again) and deleting one (DELETE).
 */
export function SsoConnections({ project, organizationId }: { project: ProjectApi; organizationId: string }) {
  const [list, setList] = useState<Connection[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState('');

  const load = useCallback(async () => {
    try {
      const page = await project.connections(organizationId);
      setList(page.data);
      setError(null);
    } catch (e) {
      setError(connectionFailure(e)?.message ?? null);
    }
  }, [project, organizationId]);

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section aria-labelledby="sso-heading">
      <h2 id="sso-heading">SSO connections</h2>
      <p>
        The organization's own OpenID Connect identity provider (Okta, Entra ID, Google Workspace, Keycloak, …): its
        users sign in there and arrive with a session in this organization.
      </p>
      <div className="card">
        <CopyValue
          label="Redirect URI to register at the identity provider"
          value={ssoCallbackUrl(serverOrigin())}
          copyLabel="the redirect URI"
        >
          Register Authio at the provider as a confidential client (<code>client_secret_basic</code>) with this redirect
          URI, then add the connection with the client ID and secret the provider gives.
        </CopyValue>
      </div>
      <ErrorLine error={error} />
      <p role="status" className="hint">
        {status}
      </p>
      {list === null ? (
        error ? null : (
          <p aria-live="polite">Loading…</p>
        )
      ) : list.length === 0 ? (
        <p>No SSO connections yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Issuer</th>
              <th scope="col">Client ID</th>
              <th scope="col">Role for new members</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <ConnectionRow
                key={c.id}
                connection={c}
                remove={() => project.deleteConnection(organizationId, c.id)}
                onRemoved={async () => {
                  setStatus(`Deleted the connection ${c.name}.`);
                  await load();
                }}
              />
            ))}
          </tbody>
        </table>
      )}
      <NewConnectionForm
        create={(body) => project.createConnection(organizationId, body)}
        onCreated={async (c) => {
          setStatus(`Added the connection ${c.name} (${c.id}).`);
          await load();
        }}
      />
    </section>
  );
}

function ConnectionRow({
  connection,
  remove,
  onRemoved,
}: {
  connection: Connection;
  remove: () => Promise<void>;
  onRemoved: () => Promise<void>;
}) {
  const [error, setError] = useState<string | null>(null);

  const doRemove = async () => {
    setError(null);
    try {
      await remove();
      await onRemoved();
    } catch (e) {
      setError(connectionFailure(e)?.message ?? null);
    }
  };

  return (
    <tr data-connection-id={connection.id}>
      <td>
        {connection.name}
        <br />
        <code className="muted small">{connection.id}</code>
      </td>
      <td>
        <code className="wrap">{connection.issuer}</code>
      </td>
      <td>
        <code className="wrap">{connection.client_id}</code>
      </td>
      <td>{connection.jit_role ? <code>{connection.jit_role}</code> : <span className="muted">none (refused)</span>}</td>
      <td>{formatDate(connection.created_at)}</td>
      <td className="row-actions">
        <ConfirmButton label="Delete" subject={connection.name} onConfirm={doRemove} />
        <ErrorLine error={error} />
      </td>
    </tr>
  );
}

function NewConnectionForm({
  create,
  onCreated,
}: {
  create: (body: NewConnection) => Promise<Connection>;
  onCreated: (c: Connection) => Promise<void>;
}) {
  const [name, setName] = useState('');
  const [issuer, setIssuer] = useState('');
  const [clientId, setClientId] = useState('');
  const [clientSecret, setClientSecret] = useState('');
  const [jitRole, setJitRole] = useState('');
  const [error, setError] = useState<{ field: Field | null; message: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const body: NewConnection = {
      name: name.trim(),
      issuer: issuer.trim(),
      client_id: clientId.trim(),
      client_secret: clientSecret,
    };
    if (!body.name) return setError({ field: 'name', message: 'Give the connection a name.' });
    if (!body.issuer) return setError({ field: 'issuer', message: "Give the identity provider's issuer URL." });
    if (!body.client_id) return setError({ field: 'client_id', message: 'Give the client ID the provider issued.' });
    if (!body.client_secret)
      return setError({ field: 'client_secret', message: 'Give the client secret the provider issued.' });
    const role = jitRole.trim();
    if (role) body.jit_role = role;
    setBusy(true);
    try {
      const created = await create(body);
      setName('');
      setIssuer('');
      setClientId('');
      setClientSecret('');
      setJitRole('');
      await onCreated(created);
    } catch (err) {
      setError(connectionFailure(err));
    } finally {
      setBusy(false);
    }
  };

  const invalid = (f: Field) => (error?.field === f ? true : undefined);

  return (
    <form className="card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="new-connection-heading">
      <h3 id="new-connection-heading">Add a connection</h3>
      <div className="row">
        <div>
          <label htmlFor="connection-name">Name</label>
          <input
            id="connection-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={200}
            placeholder="Acme Okta"
            aria-invalid={invalid('name')}
            required
          />
        </div>
        <div className="grow">
          <label htmlFor="connection-issuer">Issuer</label>
          <input
            id="connection-issuer"
            type="url"
            value={issuer}
            onChange={(e) => setIssuer(e.target.value)}
            spellCheck={false}
            placeholder="https://acme.okta.com"
            aria-describedby="connection-issuer-hint"
            aria-invalid={invalid('issuer')}
            required
          />
        </div>
      </div>
      <p className="hint" id="connection-issuer-hint">
        Authio reads <code>&lt;issuer&gt;/.well-known/openid-configuration</code> when the connection is added.
      </p>
      <div className="row">
        <div>
          <label htmlFor="connection-client-id">Client ID</label>
          <input
            id="connection-client-id"
            value={clientId}
            onChange={(e) => setClientId(e.target.value)}
            spellCheck={false}
            autoComplete="off"
            aria-invalid={invalid('client_id')}
            required
          />
        </div>
        <div>
          <label htmlFor="connection-client-secret">Client secret</label>
          <input
            id="connection-client-secret"
            type="password"
            value={clientSecret}
            onChange={(e) => setClientSecret(e.target.value)}
            spellCheck={false}
            autoComplete="new-password"
            maxLength={1024}
            aria-describedby="connection-client-secret-hint"
            aria-invalid={invalid('client_secret')}
            required
          />
        </div>
        <div>
          <label htmlFor="connection-jit-role">Role for new members (optional)</label>
          <input
            id="connection-jit-role"
            value={jitRole}
            onChange={(e) => setJitRole(e.target.value)}
            spellCheck={false}
            placeholder="member"
            aria-describedby="connection-jit-role-hint"
            aria-invalid={invalid('jit_role')}
          />
        </div>
      </div>
      <p className="hint" id="connection-client-secret-hint">
        The secret is sealed on the server and never shown again.
      </p>
      <p className="hint" id="connection-jit-role-hint">
        A user who signs in through the connection and is not a member joins with this role; without one, such a user is
        refused.
      </p>
      <ErrorLine error={error?.message ?? null} />
      <div className="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Adding…' : 'Add connection'}
        </button>
      </div>
    </form>
  );
}
