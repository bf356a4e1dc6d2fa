import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ModeCards } from '../components/ModeCards';
import { useConsole } from '../context';
import { ApiError, describeError, type Tenant } from '../lib/api';
import { modeInfo, switchBlockedReason, type Mode } from '../lib/modes';
import { href } from '../lib/router';
import { NoTenant, PageTitle } from './PageTitle';

/** The active tenant's name, slug and mode (GET and PATCH /v1/session/tenants/{id}). */
export function Settings() {
  const { api, home } = useConsole();
  const id = home.tenant?.id ?? null;
  const [tenant, setTenant] = useState<Tenant | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async (): Promise<Tenant | null> => {
    if (!id) return null;
    try {
      const t = await api.tenant(id);
      setTenant(t);
      return t;
    } catch (e) {
      setError(describeError(e));
      return null;
    }
  }, [api, id]);

  useEffect(() => {
    setTenant(null);
    void load();
  }, [load]);

  return (
    <>
      <PageTitle title="Settings" />
      {!id ? <NoTenant /> : null}
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      {tenant ? (
        <>
          <DetailsForm key={`details-${tenant.id}`} tenant={tenant} onSaved={setTenant} />
          <ModeForm key={`mode-${tenant.id}`} tenant={tenant} onSaved={setTenant} reloadTenant={load} />
        </>
      ) : id && !error ? (
        <p aria-live="polite">Loading…</p>
      ) : null}
    </>
  );
}

function DetailsForm({ tenant, onSaved }: { tenant: Tenant; onSaved: (t: Tenant) => void }) {
  const { api, reload } = useConsole();
  const [name, setName] = useState(tenant.name);
  const [slug, setSlug] = useState(tenant.slug);
  const [status, setStatus] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    const body: { name?: string; slug?: string } = {};
    if (name.trim() !== tenant.name) body.name = name.trim();
    if (slug.trim() !== tenant.slug) body.slug = slug.trim();
    setError(null);
    setStatus('');
    if (body.name === undefined && body.slug === undefined) return setStatus('Nothing to save.');
    setBusy(true);
    try {
      const t = await api.updateTenant(tenant.id, body);
      onSaved(t);
      await reload();
      setStatus('Saved.');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={(e) => void save(e)} aria-labelledby="details-heading">
      <h2 id="details-heading">Tenant</h2>
      <label htmlFor="settings-name">Name</label>
      <input id="settings-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={200} required />
      <label htmlFor="settings-slug">Slug</label>
      <input
        id="settings-slug"
        value={slug}
        onChange={(e) => setSlug(e.target.value)}
        maxLength={63}
        spellCheck={false}
        required
      />
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      <p role="status" className="hint">
        {status}
      </p>
      <div className="actions">
        <button type="submit" disabled={busy}>
          Save
        </button>
      </div>
    </form>
  );
}

function ModeForm({
  tenant,
  onSaved,
  reloadTenant,
}: {
  tenant: Tenant;
  onSaved: (t: Tenant) => void;
  reloadTenant: () => Promise<Tenant | null>;
}) {
  const { api, reload } = useConsole();
  const [choice, setChoice] = useState<Mode>(tenant.mode);
  const [status, setStatus] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const blocked = (m: Mode) => switchBlockedReason(tenant.mode, m, tenant.organizations_count);
  // Flat and b2c are refused alike, so one of them tells whether (and why) both are.
  const blockedNote = blocked('flat');

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (choice === tenant.mode) return;
    setBusy(true);
    setError(null);
    setStatus('');
    try {
      const t = await api.updateTenant(tenant.id, { mode: choice });
      onSaved(t);
      await reload();
      setStatus(`The tenant is now in ${modeInfo(t.mode).title} mode.`);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'tenant_has_organizations') {
        // Organizations were created meanwhile (409 tenant_has_organizations): show the count as it is now.
        const now = await reloadTenant();
        setChoice(tenant.mode);
        const reason = now ? switchBlockedReason(now.mode, choice, now.organizations_count) : null;
        setError(`Switching to ${modeInfo(choice).title} was refused: ${reason ?? err.message}`);
      } else {
        setError(describeError(err));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={(e) => void save(e)} aria-labelledby="mode-heading">
      <h2 id="mode-heading">Mode</h2>
      <ModeCards
        legend="How customers sign in"
        name="settings-mode"
        value={choice}
        current={tenant.mode}
        onChange={setChoice}
        blockedReason={blocked}
      />
      {blockedNote ? (
        <p className="hint" id="mode-blocked-note">
          Flat and B2C have no organizations, so this tenant can switch to them only once it has none.{' '}
          {blockedNote} (<a href={href('/organizations')}>Organizations</a>).
        </p>
      ) : null}
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      <p role="status" className="hint">
        {status}
      </p>
      <div className="actions">
        <button type="submit" disabled={busy || choice === tenant.mode}>
          {choice === tenant.mode ? 'Change mode' : `Switch to ${modeInfo(choice).title}`}
        </button>
      </div>
    </form>
  );
}
