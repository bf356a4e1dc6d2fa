import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { CopyValue, serverOrigin } from '../components/CopyValue';
import { ErrorLine, WithDashboardKey } from '../components/DashboardKey';
import { useConsole } from '../context';
import type { Connection, NewProjectConnection, ProjectApi } from '../lib/api';
import { NoTenant, PageTitle } from './PageTitle';
import {
  AddConnectionFooter,
  ClientCredentialFields,
  ConnectionRow,
  clientFields,
  connectionFailure,
  ssoCallbackUrl,
} from './SsoConnections';

export type PresetId = 'google' | 'microsoft-tenant' | 'microsoft-any' | 'github' | 'oidc';

export interface Preset {
  id: PresetId;
  label: string;
  protocol: 'oidc' | 'github';
  /** The issuer the preset fills in ('' for none). */
  issuer: string;
  /** The name it suggests for the connection. */
  name: string;
}

/** What the Microsoft one-tenant issuer holds until the directory (tenant) ID replaces it. */
export const TENANT_PLACEHOLDER = '<tenant-id>';

export const PRESETS: readonly Preset[] = [
  { id: 'google', label: 'Google', protocol: 'oidc', issuer: 'https://accounts.google.com', name: 'Google' },
  {
    id: 'microsoft-tenant',
    label: 'Microsoft (one tenant)',
    protocol: 'oidc',
    issuer: `https://login.microsoftonline.com/${TENANT_PLACEHOLDER}/v2.0`,
    name: 'Microsoft',
  },
  {
    id: 'microsoft-any',
    label: 'Microsoft (any work account)',
    protocol: 'oidc',
    issuer: 'https://login.microsoftonline.com/common/v2.0',
    name: 'Microsoft',
  },
  { id: 'github', label: 'GitHub', protocol: 'github', issuer: '', name: 'GitHub' },
  { id: 'oidc', label: 'Other OpenID Connect', protocol: 'oidc', issuer: '', name: '' },
];

export function preset(id: PresetId): Preset {
  return PRESETS.find((p) => p.id === id)!;
}

/** The note for a Microsoft (Entra ID) preset: its plain email claim is not verified. */
export const MICROSOFT_NOTE =
  'In the app registration (Token configuration), add the optional claim xms_edov (email domain owner verified) to the ID token: Entra ID’s plain email claim is not verified, and without xms_edov Authio does not trust the address.';

const FIELDS = ['name', 'issuer', 'client_id', 'client_secret'] as const;
type Field = (typeof FIELDS)[number];

/**
 * The request body for the form's values, or what is wrong with them. GitHub: an empty
 * address means github.com (no issuer sent).
 */
export function projectConnectionBody(v: {
  protocol: 'oidc' | 'github';
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
}): { body: NewProjectConnection } | { field: Field; message: string } {
  const github = v.protocol === 'github';
  const checked = clientFields(v, {
    issuerOptional: github,
    checkIssuer: (issuer) =>
      issuer.includes(TENANT_PLACEHOLDER)
        ? `Replace ${TENANT_PLACEHOLDER} in the issuer with the directory (tenant) ID of your Microsoft Entra ID.`
        : null,
  });
  if (!('fields' in checked)) return checked;
  const { name, issuer, client_id, client_secret } = checked.fields;
  if (github) {
    const body: NewProjectConnection = { name, protocol: 'github', client_id, client_secret };
    if (issuer) body.issuer = issuer;
    return { body };
  }
  return { body: { name, protocol: 'oidc', issuer, client_id, client_secret } };
}

/**
 * The project's own connections (social sign-in: Google, Microsoft, GitHub or any
 * OpenID Connect provider), for every user of the project rather than one organization:
 * the list (GET /v1/connections), adding one (POST; the client secret is sealed by the
 * server and never shown again) and deleting one (DELETE).
 */
export function SocialConnections() {
  const { home } = useConsole();
  const tenant = home.tenant;
  return (
    <>
      <PageTitle title="Social sign-in" />
      <p className="lead">
        Identity providers any user of this tenant may sign in with: Google, Microsoft, GitHub or another OpenID Connect
        provider. An organization's own identity provider is added on the organization's page instead.
      </p>
      <section className="card" aria-labelledby="social-callback-heading">
        <h2 id="social-callback-heading">At the provider</h2>
        <CopyValue
          label="Callback URL to register at the provider"
          value={ssoCallbackUrl(serverOrigin())}
          copyLabel="the callback URL"
        >
          Register Authio at the provider as an application (a confidential client, or a GitHub OAuth app) with this
          callback (redirect) URL, then add the connection below with the client ID and secret the provider gives.
        </CopyValue>
      </section>
      {!tenant ? (
        <NoTenant />
      ) : (
        <WithDashboardKey
          tenantId={tenant.id}
          heading="Connect to the connections API"
          why="Social sign-in connections are managed with a secret key of the tenant."
        >
          {(project) => <SocialConnectionsView project={project} />}
        </WithDashboardKey>
      )}
    </>
  );
}

export function SocialConnectionsView({ project }: { project: ProjectApi }) {
  const [list, setList] = useState<Connection[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState('');

  const load = useCallback(async () => {
    try {
      const page = await project.projectConnections();
      setList(page.data);
      setError(null);
    } catch (e) {
      setError(connectionFailure(e)?.message ?? null);
    }
  }, [project]);

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <>
      <p role="status" className="hint">
        {status}
      </p>
      <NewSocialConnection
        create={(body) => project.createProjectConnection(body)}
        onCreated={async (c) => {
          setStatus(`Added the connection ${c.name} (${c.id}).`);
          await load();
        }}
      />
      <section aria-labelledby="social-list-heading">
        <h2 id="social-list-heading">Connections</h2>
        <ErrorLine error={error} />
        {list === null ? (
          error ? null : (
            <p aria-live="polite">Loading…</p>
          )
        ) : list.length === 0 ? (
          <p>No social sign-in connections yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Protocol</th>
                <th scope="col">Provider</th>
                <th scope="col">Client ID</th>
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
                  jitRole={false}
                  connection={c}
                  remove={() => project.deleteProjectConnection(c.id)}
                  onRemoved={async () => {
                    setStatus(`Deleted the connection ${c.name}.`);
                    await load();
                  }}
                />
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

const DEFAULT_NAMES = new Set(PRESETS.map((p) => p.name));

function NewSocialConnection({
  create,
  onCreated,
}: {
  create: (body: NewProjectConnection) => Promise<Connection>;
  onCreated: (c: Connection) => Promise<void>;
}) {
  const [presetId, setPresetId] = useState<PresetId>('google');
  const [name, setName] = useState('Google');
  const [issuer, setIssuer] = useState(preset('google').issuer);
  const [clientId, setClientId] = useState('');
  const [clientSecret, setClientSecret] = useState('');
  const [error, setError] = useState<{ field: Field | null; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const chosen = preset(presetId);
  const github = chosen.protocol === 'github';
  const microsoft = presetId === 'microsoft-tenant' || presetId === 'microsoft-any';

  const choose = (id: PresetId) => {
    const p = preset(id);
    setPresetId(id);
    setIssuer(p.issuer);
    // A name the user typed stays; a preset's suggestion follows the preset.
    if (DEFAULT_NAMES.has(name.trim())) setName(p.name);
    setError(null);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const checked = projectConnectionBody({ protocol: chosen.protocol, name, issuer, clientId, clientSecret });
    if (!('body' in checked)) return setError(checked);
    setBusy(true);
    try {
      const created = await create(checked.body);
      setClientId('');
      setClientSecret('');
      await onCreated(created);
    } catch (err) {
      const f = connectionFailure(err);
      setError(f ? { field: FIELDS.find((x) => x === f.field) ?? null, message: f.message } : null);
    } finally {
      setBusy(false);
    }
  };

  const invalid = (f: Field) => (error?.field === f ? true : undefined);

  return (
    <form className="card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="new-social-heading">
      <h2 id="new-social-heading">Add a connection</h2>
      <fieldset className="inline wrap-choices">
        <legend>Provider</legend>
        {PRESETS.map((p) => (
          <label key={p.id} className="radio">
            <input
              type="radio"
              name="social-preset"
              value={p.id}
              checked={presetId === p.id}
              onChange={() => choose(p.id)}
            />
            {p.label}
          </label>
        ))}
      </fieldset>
      {microsoft ? (
        <p className="notice" id="social-microsoft-note">
          {MICROSOFT_NOTE}
        </p>
      ) : null}
      <div className="row">
        <div>
          <label htmlFor="social-name">Name</label>
          <input
            id="social-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={200}
            aria-invalid={invalid('name')}
            required
          />
        </div>
        <div className="grow">
          <label htmlFor="social-issuer">{github ? 'GitHub Enterprise Server address (optional)' : 'Issuer'}</label>
          <input
            id="social-issuer"
            type="url"
            value={issuer}
            onChange={(e) => setIssuer(e.target.value)}
            spellCheck={false}
            placeholder={github ? 'https://github.example.com' : 'https://idp.example.com'}
            aria-describedby="social-issuer-hint"
            aria-invalid={invalid('issuer')}
            required={!github}
          />
        </div>
      </div>
      <p className="hint" id="social-issuer-hint">
        {github ? (
          <>Leave empty for github.com. GitHub does not speak OpenID Connect, so no discovery document is read.</>
        ) : presetId === 'microsoft-tenant' ? (
          <>
            Replace <code>{TENANT_PLACEHOLDER}</code> with the directory (tenant) ID. Authio reads{' '}
            <code>&lt;issuer&gt;/.well-known/openid-configuration</code> when the connection is added.
          </>
        ) : (
          <>
            Authio reads <code>&lt;issuer&gt;/.well-known/openid-configuration</code> when the connection is added.
          </>
        )}
      </p>
      <ClientCredentialFields
        idPrefix="social"
        clientId={clientId}
        setClientId={setClientId}
        clientSecret={clientSecret}
        setClientSecret={setClientSecret}
        invalid={invalid}
      />
      <AddConnectionFooter error={error?.message ?? null} busy={busy} />
    </form>
  );
}
