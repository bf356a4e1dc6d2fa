import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { ConfirmButton } from '../components/ConfirmButton';
import { useConsole } from '../context';
import { describeError, type ApiKey, type CreatedApiKey } from '../lib/api';
import { dropKeyById } from '../lib/dashboardKeys';
import { formatDate, maskedSecret } from '../lib/format';
import { NoTenant, PageTitle } from './PageTitle';

/**
 * The tenant's API keys: list (GET …/api-keys), create with the secret shown once
 * (POST …/api-keys), revoke (DELETE …/api-keys/{key_id}).
 */
export function ApiKeys() {
  const { api, home } = useConsole();
  const tenant = home.tenant;
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);

  const tenantId = tenant?.id;
  const load = useCallback(async () => {
    if (!tenantId) return;
    try {
      setKeys((await api.apiKeys(tenantId)).data);
    } catch (e) {
      setError(describeError(e));
    }
  }, [api, tenantId]);

  useEffect(() => {
    void load();
  }, [load]);

  if (!tenant) {
    return (
      <>
        <PageTitle title="API keys" />
        <NoTenant />
      </>
    );
  }

  const revoke = async (key: ApiKey) => {
    setError(null);
    try {
      await api.revokeApiKey(tenant.id, key.id);
      dropKeyById(key.id);
      await load();
    } catch (e) {
      setError(describeError(e));
    }
  };

  return (
    <>
      <PageTitle title="API keys" />
      <p className="lead">
        Secret keys (<code>sk_…</code>) are for your backend; each comes with a publishable key (<code>pk_…</code>) for
        your frontend. Test keys also allow <code>localhost</code> redirects and origins.
      </p>
      {created ? <CreatedKey created={created} onDone={() => setCreated(null)} /> : null}
      <CreateKey
        tenantId={tenant.id}
        onCreated={async (k) => {
          setCreated(k);
          await load();
        }}
      />
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      <section aria-labelledby="key-list-heading">
        <h2 id="key-list-heading">Keys</h2>
        {keys === null ? (
          <p aria-live="polite">Loading…</p>
        ) : keys.length === 0 ? (
          <p>No keys yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Environment</th>
                <th scope="col">Secret key</th>
                <th scope="col">Publishable key</th>
                <th scope="col">Created</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id} data-key-id={k.id}>
                  <td>{k.name}</td>
                  <td>{k.environment}</td>
                  <td>
                    <code className="nowrap">{maskedSecret(k.secret_prefix, k.secret_last_four)}</code>
                  </td>
                  <td>
                    <code className="wrap">{k.publishable_key}</code>
                  </td>
                  <td>{formatDate(k.created_at)}</td>
                  <td>{k.revoked_at ? `Revoked ${formatDate(k.revoked_at)}` : 'Active'}</td>
                  <td className="row-actions">
                    {k.revoked_at ? null : <ConfirmButton label="Revoke" subject={k.name} onConfirm={() => revoke(k)} />}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function CreateKey({ tenantId, onCreated }: { tenantId: string; onCreated: (k: CreatedApiKey) => Promise<void> }) {
  const { api } = useConsole();
  const [name, setName] = useState('');
  const [environment, setEnvironment] = useState<'test' | 'live'>('test');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const n = name.trim();
    setError(null);
    if (!n) return setError('Give the key a name, such as the service that will use it.');
    setBusy(true);
    try {
      const k = await api.createApiKey(tenantId, { name: n, environment });
      setName('');
      await onCreated(k);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="new-key-heading">
      <h2 id="new-key-heading">New key</h2>
      <div className="row">
        <div>
          <label htmlFor="key-name">Name</label>
          <input id="key-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={200} required />
        </div>
        <fieldset className="inline">
          <legend>Environment</legend>
          {(['test', 'live'] as const).map((env) => (
            <label key={env} className="radio">
              <input
                type="radio"
                name="key-environment"
                value={env}
                checked={environment === env}
                onChange={() => setEnvironment(env)}
              />
              {env === 'test' ? 'Test' : 'Live'}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={busy}>
          Create key
        </button>
      </div>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
    </form>
  );
}

/** The new secret, shown this once; the list shows only its prefix and last four. */
function CreatedKey({ created, onDone }: { created: CreatedApiKey; onDone: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const [copied, setCopied] = useState('');

  useEffect(() => {
    heading.current?.focus();
  }, [created.id]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.secret);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('Copying is not allowed here: select the secret and copy it by hand.');
    }
  };

  return (
    <section className="secret card" aria-labelledby="secret-heading">
      <h2 id="secret-heading" ref={heading} tabIndex={-1}>
        Copy the secret of “{created.name}” now
      </h2>
      <p>This is the only time the secret is shown. Keep it in your backend's secret store.</p>
      <label htmlFor="new-secret">Secret key</label>
      <div className="row">
        <input
          id="new-secret"
          readOnly
          value={created.secret}
          spellCheck={false}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button type="button" className="secondary" onClick={() => void copy()}>
          Copy secret
        </button>
      </div>
      <label htmlFor="new-publishable">Publishable key</label>
      <input
        id="new-publishable"
        readOnly
        value={created.publishable_key}
        spellCheck={false}
        onFocus={(e) => e.currentTarget.select()}
      />
      <p role="status" className="hint">
        {copied}
      </p>
      <button type="button" onClick={onDone}>
        I have copied it
      </button>
    </section>
  );
}
