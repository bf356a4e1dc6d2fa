import { useCallback, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ConfirmButton } from '../components/ConfirmButton';
import { CopyValue, serverOrigin } from '../components/CopyValue';
import { ErrorLine } from '../components/DashboardKey';
import {
  ApiError,
  MAX_SAML_METADATA_BYTES,
  type Connection,
  type ConnectionProtocol,
  type NewConnection,
  type OrganizationDomain,
  type ProjectApi,
} from '../lib/api';
import { failure } from '../lib/errors';
import { formatDate } from '../lib/format';

/** `<origin>/v1/auth/sso/callback`: the redirect URI to register at the identity provider. */
export function ssoCallbackUrl(origin: string): string {
  return `${origin}/v1/auth/sso/callback`;
}

export const PROTOCOL_NAMES: Record<ConnectionProtocol, string> = {
  oidc: 'OpenID Connect',
  saml: 'SAML 2.0',
  github: 'GitHub',
};

/** A connection's protocol (a server from before SAML sends none: OpenID Connect). */
export function protocolOf(c: Pick<Connection, 'protocol'>): ConnectionProtocol {
  return c.protocol === 'saml' || c.protocol === 'github' ? c.protocol : 'oidc';
}

/** What to register at a SAML connection's identity provider, or null for an OpenID Connect one. */
export function samlRegistration(c: Connection): { entityId: string; acsUrl: string; metadataUrl: string } | null {
  if (protocolOf(c) !== 'saml' || !c.saml) return null;
  return { entityId: c.client_id, acsUrl: c.saml.acs_url, metadataUrl: c.saml.metadata_url };
}

/** The one sentence on what goes where at a SAML identity provider. */
export const SAML_HOWTO =
  'At the identity provider, create a SAML application and paste the entity ID as its audience (SP entity ID) and the ACS URL as its single sign-on (reply) URL with the HTTP-POST binding, or give it the metadata URL if it imports service-provider metadata.';

type Field = 'name' | 'issuer' | 'client_id' | 'client_secret' | 'metadata_xml' | 'jit_role';

/** An OpenID Connect or GitHub client's fields as the forms send them. */
export interface ClientFields {
  name: string;
  issuer: string;
  client_id: string;
  client_secret: string;
}

/**
 * A client connection's fields as typed (trimmed; the secret as is), or the first one
 * that is missing, in the form's order: name, issuer (when `issuer` is not optional;
 * `checkIssuer` may refuse it further), client ID, client secret.
 */
export function clientFields(
  v: { name: string; issuer: string; clientId: string; clientSecret: string },
  opts: { issuerOptional?: boolean; checkIssuer?: (issuer: string) => string | null } = {},
): { fields: ClientFields } | { field: 'name' | 'issuer' | 'client_id' | 'client_secret'; message: string } {
  const fields = { name: v.name.trim(), issuer: v.issuer.trim(), client_id: v.clientId.trim(), client_secret: v.clientSecret };
  if (!fields.name) return { field: 'name', message: 'Give the connection a name.' };
  if (!opts.issuerOptional) {
    if (!fields.issuer) return { field: 'issuer', message: "Give the identity provider's issuer URL." };
    const wrong = opts.checkIssuer?.(fields.issuer);
    if (wrong) return { field: 'issuer', message: wrong };
  }
  if (!fields.client_id) return { field: 'client_id', message: 'Give the client ID the provider issued.' };
  if (!fields.client_secret) return { field: 'client_secret', message: 'Give the client secret the provider issued.' };
  return { fields };
}

/**
 * The client ID and secret inputs (ids `<idPrefix>-client-id`, `<idPrefix>-client-secret`)
 * in one row with `children` beside them, and the note that the secret is never shown again.
 */
/** The end of a form that adds a connection: its error, and the button (busy while it is sent). */
export function AddConnectionFooter({ error, busy }: { error: string | null; busy: boolean }) {
  return (
    <>
      <ErrorLine error={error} />
      <div className="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Adding…' : 'Add connection'}
        </button>
      </div>
    </>
  );
}

export function ClientCredentialFields({
  idPrefix,
  clientId,
  setClientId,
  clientSecret,
  setClientSecret,
  invalid,
  children,
}: {
  idPrefix: string;
  clientId: string;
  setClientId: (v: string) => void;
  clientSecret: string;
  setClientSecret: (v: string) => void;
  invalid: (f: 'client_id' | 'client_secret') => true | undefined;
  children?: ReactNode;
}) {
  return (
    <>
      <div className="row">
        <div>
          <label htmlFor={`${idPrefix}-client-id`}>Client ID</label>
          <input
            id={`${idPrefix}-client-id`}
            value={clientId}
            onChange={(e) => setClientId(e.target.value)}
            spellCheck={false}
            autoComplete="off"
            aria-invalid={invalid('client_id')}
            required
          />
        </div>
        <div>
          <label htmlFor={`${idPrefix}-client-secret`}>Client secret</label>
          <input
            id={`${idPrefix}-client-secret`}
            type="password"
            value={clientSecret}
            onChange={(e) => setClientSecret(e.target.value)}
            spellCheck={false}
            autoComplete="new-password"
            maxLength={1024}
            aria-describedby={`${idPrefix}-client-secret-hint`}
            aria-invalid={invalid('client_secret')}
            required
          />
        </div>
        {children}
      </div>
      <p className="hint" id={`${idPrefix}-client-secret-hint`}>
        The secret is sealed on the server and never shown again.
      </p>
    </>
  );
}

const noPeriod = (s: string) => s.replace(/[.\s]+$/, '');

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
      case 'invalid_saml_metadata':
        return {
          field: 'metadata_xml',
          message: `Authio cannot use this metadata. The server said: ${noPeriod(e.message)}. Paste the identity provider's whole metadata document: an EntityDescriptor with an IDPSSODescriptor, a signing certificate (KeyDescriptor with an X509Certificate) and an HTTP-Redirect SingleSignOnService, without a DOCTYPE.`,
        };
      case 'saml_unavailable':
        return {
          field: null,
          message:
            'This Authio server was built without SAML support, so it cannot add SAML connections. Build it with `--features saml` (cargo build -p authio-api --bin authio --features saml; it needs libxmlsec1-dev and libclang-dev), or connect the identity provider by OpenID Connect.',
        };
    }
    if (e.field === 'role' || e.field === 'jit_role')
      return { field: 'jit_role', message: 'No role of the project (or of this organization) has this key.' };
    if (e.field === 'issuer') return { field: 'issuer', message: 'The issuer must be a public http(s) URL.' };
    if (e.field === 'client_secret') return { field: 'client_secret', message: 'The client secret must be 1 to 1024 characters.' };
    if (e.field === 'client_id') return { field: 'client_id', message: `Check the client ID: ${e.message}` };
    if (e.field === 'name') return { field: 'name', message: 'Give the connection a name of 1 to 200 characters.' };
    if (e.field === 'metadata_xml') return { field: 'metadata_xml', message: `Check the metadata: ${e.message}` };
  }
  const message = failure(e);
  return message ? { field: null, message } : null;
}

/** A file's text (UTF-8; a byte-order mark is dropped). */
function readText(file: Blob): Promise<string> {
  return new Promise((ok, fail) => {
    const reader = new FileReader();
    reader.onload = () => ok(String(reader.result ?? ''));
    reader.onerror = () => fail(reader.error ?? new Error('unreadable'));
    reader.readAsText(file);
  });
}

/**
 * An organization's SSO connections (its own identity provider, by OpenID Connect or
 * SAML 2.0): the list (GET /v1/organizations/{id}/connections), adding one (POST; an
 * OpenID client secret is sealed by the server and never shown again; a SAML connection
 * answers the entity ID, ACS URL and metadata URL to register at the provider) and
 * deleting one (DELETE). The organization's verified domains (GET …/domains) are shown
 * with the rule they set: a connection signs in only addresses of those domains.
 */
export function SsoConnections({ project, organizationId }: { project: ProjectApi; organizationId: string }) {
  const [list, setList] = useState<Connection[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [domains, setDomains] = useState<OrganizationDomain[] | null>(null);
  const [created, setCreated] = useState<Connection | null>(null);

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

  useEffect(() => {
    let live = true;
    // Only to say which domains are verified: without the list the rule is still told.
    project
      .domains(organizationId)
      .then((page) => live && setDomains(page.data))
      .catch(() => live && setDomains(null));
    return () => {
      live = false;
    };
  }, [project, organizationId]);

  return (
    <section aria-labelledby="sso-heading">
      <h2 id="sso-heading">SSO connections</h2>
      <p>
        The organization's own identity provider (Okta, Entra ID, Google Workspace, Keycloak, ADFS, …), by OpenID
        Connect or SAML 2.0: its users sign in there and arrive with a session in this organization.
      </p>
      <div className="card">
        <CopyValue
          label="Redirect URI to register at the identity provider"
          value={ssoCallbackUrl(serverOrigin())}
          copyLabel="the redirect URI"
        >
          OpenID Connect: register Authio at the provider as a confidential client (<code>client_secret_basic</code>)
          with this redirect URI, then add the connection with the client ID and secret the provider gives. SAML 2.0: add
          the connection from the provider's metadata first; Authio then gives its entity ID, ACS URL and metadata URL to
          register there.
        </CopyValue>
      </div>
      <ErrorLine error={error} />
      <p role="status" className="hint">
        {status}
      </p>
      {created && samlRegistration(created) ? (
        <SamlNextStep connection={created} onDone={() => setCreated(null)} />
      ) : null}
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
              <th scope="col">Protocol</th>
              <th scope="col">Identity provider</th>
              <th scope="col">Authio at the provider</th>
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
                  if (created?.id === c.id) setCreated(null);
                  await load();
                }}
              />
            ))}
          </tbody>
        </table>
      )}
      <NewConnectionForm
        organizationId={organizationId}
        domains={domains}
        create={(body) => project.createConnection(organizationId, body)}
        onCreated={async (c) => {
          setStatus(`Added the connection ${c.name} (${c.id}).`);
          setCreated(c);
          await load();
        }}
      />
    </section>
  );
}

/** A SAML connection's entity ID, ACS URL and metadata URL, each to copy. */
function SamlValues({ connection }: { connection: Connection }) {
  const reg = samlRegistration(connection);
  if (!reg) return null;
  return (
    <div className="saml-values">
      <CopyValue label="Entity ID (audience)" value={reg.entityId} copyLabel={`the entity ID of ${connection.name}`} />
      <CopyValue label="ACS URL (HTTP-POST)" value={reg.acsUrl} copyLabel={`the ACS URL of ${connection.name}`} />
      <CopyValue label="Metadata URL" value={reg.metadataUrl} copyLabel={`the metadata URL of ${connection.name}`} />
    </div>
  );
}

/** Right after a SAML connection is added: what to register at its identity provider (focus moves here). */
function SamlNextStep({ connection, onDone }: { connection: Connection; onDone: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
  }, [connection.id]);
  return (
    <section className="card saml-next" aria-labelledby="saml-next-heading" data-created-connection={connection.id}>
      <h3 id="saml-next-heading" ref={heading} tabIndex={-1}>
        Register Authio at the identity provider of {connection.name}
      </h3>
      <p>{SAML_HOWTO}</p>
      <SamlValues connection={connection} />
      <div className="actions">
        <button type="button" className="secondary" onClick={onDone}>
          Done
        </button>
      </div>
    </section>
  );
}

/**
 * A connection in a list, with its delete; `jitRole`: the organization's lists show the
 * role for new members (the project's own connections have none).
 */
export function ConnectionRow({
  connection,
  remove,
  onRemoved,
  jitRole = true,
}: {
  connection: Connection;
  remove: () => Promise<void>;
  onRemoved: () => Promise<void>;
  jitRole?: boolean;
}) {
  const [error, setError] = useState<string | null>(null);
  const protocol = protocolOf(connection);
  const saml = protocol === 'saml';

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
    <>
      <tr data-connection-id={connection.id} data-protocol={protocol}>
        <td>
          {connection.name}
          <br />
          <code className="muted small">{connection.id}</code>
        </td>
        <td>{PROTOCOL_NAMES[protocol]}</td>
        <td>
          <span className="muted small">{saml ? 'entity ID' : 'issuer'}</span>
          <br />
          <code className="wrap">{connection.issuer}</code>
        </td>
        <td>
          <span className="muted small">{saml ? 'entity ID' : 'client ID'}</span>
          <br />
          <code className="wrap">{connection.client_id}</code>
        </td>
        {jitRole ? (
          <td>
            {connection.jit_role ? <code>{connection.jit_role}</code> : <span className="muted">none (refused)</span>}
          </td>
        ) : null}
        <td>{formatDate(connection.created_at)}</td>
        <td className="row-actions">
          <ConfirmButton label="Delete" subject={connection.name} onConfirm={doRemove} />
          <ErrorLine error={error} />
        </td>
      </tr>
      {samlRegistration(connection) ? (
        <tr className="detail-row" data-saml-of={connection.id}>
          <td colSpan={jitRole ? 7 : 6}>
            <SamlValues connection={connection} />
            <p className="hint">{SAML_HOWTO}</p>
          </td>
        </tr>
      ) : null}
    </>
  );
}

/**
 * The rule both protocols follow: a connection signs in only addresses of a domain the
 * organization has verified. With the organization's domains (null: unknown) it names
 * the verified ones, and the TXT record each pending one waits for.
 */
export function DomainRule({ organizationId, domains }: { organizationId: string; domains: OrganizationDomain[] | null }) {
  const verified = (domains ?? []).filter((d) => d.state === 'verified');
  const waiting = (domains ?? []).filter((d) => d.state !== 'verified');
  const org = encodeURIComponent(organizationId);
  const none = domains !== null && verified.length === 0;
  return (
    <div className={none ? 'notice domain-rule' : 'hint domain-rule'} id="connection-domain-rule">
      <p>
        A connection signs in only addresses in a domain this organization has <strong>verified</strong>; anyone else is
        refused, whatever the identity provider says.{' '}
        {verified.length > 0 ? (
          <>
            Verified:{' '}
            {verified.map((d, i) => (
              <span key={d.id}>
                {i > 0 ? ', ' : null}
                <code>{d.domain}</code>
              </span>
            ))}
            .
          </>
        ) : none ? (
          <>No domain of this organization is verified yet, so no one can sign in through its connections.</>
        ) : null}
      </p>
      {waiting.length > 0 ? (
        <ul>
          {waiting.map((d) => (
            <li key={d.id}>
              <code>{d.domain}</code> is {d.state === 'failed' ? 'no longer verified' : 'not verified yet'}: publish the
              TXT record <code>{d.verification.name}</code> with the value <code>{d.verification.value}</code>, then
              verify it.
            </li>
          ))}
        </ul>
      ) : null}
      {verified.length === 0 || waiting.length > 0 ? (
        <p>
          To verify a domain: claim it with <code>POST /v1/organizations/{org}/domains</code> (
          <code>{'{"domain": "example.com"}'}</code>), publish the TXT record the answer gives, then call{' '}
          <code>POST /v1/organizations/{org}/domains/&lt;domain_id&gt;/verify</code>.
        </p>
      ) : null}
    </div>
  );
}

function NewConnectionForm({
  organizationId,
  domains,
  create,
  onCreated,
}: {
  organizationId: string;
  domains: OrganizationDomain[] | null;
  create: (body: NewConnection) => Promise<Connection>;
  onCreated: (c: Connection) => Promise<void>;
}) {
  const [protocol, setProtocol] = useState<ConnectionProtocol>('oidc');
  const [name, setName] = useState('');
  const [issuer, setIssuer] = useState('');
  const [clientId, setClientId] = useState('');
  const [clientSecret, setClientSecret] = useState('');
  const [metadata, setMetadata] = useState('');
  const [fileNote, setFileNote] = useState('');
  const [jitRole, setJitRole] = useState('');
  const [error, setError] = useState<{ field: Field | null; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const saml = protocol === 'saml';

  const choose = (p: ConnectionProtocol) => {
    setProtocol(p);
    setError(null);
  };

  const readFile = async (file: File | undefined) => {
    setError(null);
    setFileNote('');
    if (!file) return;
    if (file.size > MAX_SAML_METADATA_BYTES) {
      setError({
        field: 'metadata_xml',
        message: `${file.name} is larger than ${MAX_SAML_METADATA_BYTES / 1024} KB: that is not one identity provider's metadata.`,
      });
      return;
    }
    try {
      setMetadata(await readText(file));
      setFileNote(`Read ${file.name} into the metadata field.`);
    } catch {
      setError({ field: 'metadata_xml', message: `${file.name} could not be read.` });
    }
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const trimmed = name.trim();
    const role = jitRole.trim();
    let body: NewConnection;
    if (saml) {
      if (!trimmed) return setError({ field: 'name', message: 'Give the connection a name.' });
      const xml = metadata.trim();
      if (!xml)
        return setError({
          field: 'metadata_xml',
          message: "Paste the identity provider's metadata XML, or read it from a file.",
        });
      if (new TextEncoder().encode(xml).length > MAX_SAML_METADATA_BYTES)
        return setError({
          field: 'metadata_xml',
          message: `The metadata is larger than ${MAX_SAML_METADATA_BYTES / 1024} KB: paste one identity provider's EntityDescriptor.`,
        });
      body = { name: trimmed, protocol: 'saml', metadata_xml: xml };
    } else {
      const checked = clientFields({ name, issuer, clientId, clientSecret });
      if (!('fields' in checked)) return setError(checked);
      body = checked.fields;
    }
    if (role) body.jit_role = role;
    setBusy(true);
    try {
      const created = await create(body);
      setName('');
      setIssuer('');
      setClientId('');
      setClientSecret('');
      setMetadata('');
      setFileNote('');
      if (fileInput.current) fileInput.current.value = '';
      setJitRole('');
      await onCreated(created);
    } catch (err) {
      setError(connectionFailure(err));
    } finally {
      setBusy(false);
    }
  };

  const invalid = (f: Field) => (error?.field === f ? true : undefined);

  const jitRoleField = (
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
  );

  return (
    <form
      className="card"
      onSubmit={(e) => void submit(e)}
      noValidate
      aria-labelledby="new-connection-heading"
      aria-describedby="connection-domain-rule"
    >
      <h3 id="new-connection-heading">Add a connection</h3>
      <DomainRule organizationId={organizationId} domains={domains} />
      <fieldset className="inline">
        <legend>Protocol</legend>
        {(['oidc', 'saml'] as const).map((p) => (
          <label key={p} className="radio">
            <input
              type="radio"
              name="connection-protocol"
              value={p}
              checked={protocol === p}
              onChange={() => choose(p)}
            />
            {PROTOCOL_NAMES[p]}
          </label>
        ))}
      </fieldset>
      <div className="row">
        <div>
          <label htmlFor="connection-name">Name</label>
          <input
            id="connection-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={200}
            placeholder={saml ? 'Acme Entra ID' : 'Acme Okta'}
            aria-invalid={invalid('name')}
            required
          />
        </div>
        {saml ? null : (
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
        )}
      </div>
      {saml ? (
        <>
          <label htmlFor="connection-metadata">Identity provider metadata (XML)</label>
          <textarea
            id="connection-metadata"
            rows={8}
            value={metadata}
            onChange={(e) => setMetadata(e.target.value)}
            spellCheck={false}
            placeholder={'<md:EntityDescriptor entityID="https://idp.example.com/…" …>'}
            aria-describedby="connection-metadata-hint"
            aria-invalid={invalid('metadata_xml')}
            required
          />
          <p className="hint" id="connection-metadata-hint">
            The provider's federation metadata (its entity ID, signing certificate and HTTP-Redirect single sign-on URL):
            download it from the provider's SAML application and paste it here, or read the file.
          </p>
          <div className="row">
            <div>
              <label htmlFor="connection-metadata-file">Or read it from a file</label>
              <input
                id="connection-metadata-file"
                ref={fileInput}
                type="file"
                accept=".xml,application/xml,text/xml,application/samlmetadata+xml"
                onChange={(e) => void readFile(e.target.files?.[0])}
              />
            </div>
            {jitRoleField}
          </div>
          <p role="status" className="hint">
            {fileNote}
          </p>
        </>
      ) : (
        <>
          <p className="hint" id="connection-issuer-hint">
            Authio reads <code>&lt;issuer&gt;/.well-known/openid-configuration</code> when the connection is added.
          </p>
          <ClientCredentialFields
            idPrefix="connection"
            clientId={clientId}
            setClientId={setClientId}
            clientSecret={clientSecret}
            setClientSecret={setClientSecret}
            invalid={invalid}
          >
            {jitRoleField}
          </ClientCredentialFields>
        </>
      )}
      <p className="hint" id="connection-jit-role-hint">
        A user who signs in through the connection and is not a member joins with this role; without one, such a user is
        refused.
      </p>
      <AddConnectionFooter error={error?.message ?? null} busy={busy} />
    </form>
  );
}
