import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ConfirmButton } from '../components/ConfirmButton';
import { useConsole } from '../context';
import { DashboardKeyCard, ErrorLine, useDashboardKey } from '../components/DashboardKey';
import { ApiError, describeError, type Organization, type Tenant } from '../lib/api';
import { countOrganizations, modeInfo, organizationsEnabled } from '../lib/modes';
import { formatDate } from '../lib/format';
import { href, organizationHref } from '../lib/router';
import { NoTenant, PageTitle } from './PageTitle';

/**
 * The tenant's organizations. In flat and b2c mode a banner says they are off. In b2b
 * mode the list and the create form go through /v1/organizations with a secret key
 * (the console API has no organization routes): a test key the operator asks the
 * dashboard to create, held in memory only.
 */
export function Organizations() {
  const { api, home } = useConsole();
  const id = home.tenant?.id ?? null;
  const [tenant, setTenant] = useState<Tenant | null>(null);
  const [error, setError] = useState<string | null>(null);

  const loadTenant = useCallback(async () => {
    if (!id) return;
    try {
      setTenant(await api.tenant(id));
    } catch (e) {
      setError(describeError(e));
    }
  }, [api, id]);

  useEffect(() => {
    setTenant(null);
    void loadTenant();
  }, [loadTenant]);

  return (
    <>
      <PageTitle title="Organizations" />
      {!id ? <NoTenant /> : null}
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      {tenant === null ? (
        id && !error ? <p aria-live="polite">Loading…</p> : null
      ) : organizationsEnabled(tenant.mode) ? (
        <OrganizationList key={tenant.id} tenant={tenant} onChanged={loadTenant} />
      ) : (
        <section className="banner" aria-labelledby="orgs-off-heading">
          <h2 id="orgs-off-heading">Organizations are off in this tenant</h2>
          <p>
            This tenant is in {modeInfo(tenant.mode).title} mode: users belong to the tenant directly. Organizations
            exist only in B2B mode; you can switch the mode in <a href={href('/settings')}>Settings</a>.
          </p>
        </section>
      )}
    </>
  );
}

function OrganizationList({ tenant, onChanged }: { tenant: Tenant; onChanged: () => Promise<void> }) {
  const { reload } = useConsole();
  const dashboardKey = useDashboardKey(tenant.id);
  const { project } = dashboardKey;
  const [orgs, setOrgs] = useState<Organization[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const loadOrgs = useCallback(async () => {
    if (!project) return;
    try {
      const page = await project.organizations();
      setOrgs(page.data);
      setNext(page.next_cursor);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) setError(describeError(e));
    }
  }, [project]);

  useEffect(() => {
    void loadOrgs();
  }, [loadOrgs]);

  const more = async () => {
    if (!project || !next) return;
    try {
      const page = await project.organizations(next);
      setOrgs((o) => [...(o ?? []), ...page.data]);
      setNext(page.next_cursor);
    } catch (e) {
      setError(describeError(e));
    }
  };

  const changed = async () => {
    await Promise.all([loadOrgs(), onChanged(), reload()]);
  };

  return (
    <>
      <p className="lead">
        {countOrganizations(tenant.organizations_count)} in <strong>{tenant.name}</strong>. An organization's page has
        its SSO connections.
      </p>
      <ErrorLine error={dashboardKey.error ?? error} />
      {!project ? (
        <DashboardKeyCard heading="Connect to the organization API" dashboardKey={dashboardKey}>
          Organizations are managed with a secret key of the tenant.
        </DashboardKeyCard>
      ) : (
        <>
          <CreateOrganization
            create={(body) => project.createOrganization(body)}
            onCreated={changed}
          />
          <section aria-labelledby="org-list-heading">
            <h2 id="org-list-heading">All organizations</h2>
            {orgs === null ? (
              <p aria-live="polite">Loading…</p>
            ) : orgs.length === 0 ? (
              <p>No organizations yet. Create the first one above.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Slug</th>
                    <th scope="col">Id</th>
                    <th scope="col">Created</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {orgs.map((o) => (
                    <OrganizationRow
                      key={o.id}
                      org={o}
                      remove={() => project.deleteOrganization(o.id)}
                      onRemoved={changed}
                    />
                  ))}
                </tbody>
              </table>
            )}
            {next ? (
              <button type="button" className="secondary" onClick={() => void more()}>
                Show more
              </button>
            ) : null}
          </section>
        </>
      )}
    </>
  );
}

function CreateOrganization({
  create,
  onCreated,
}: {
  create: (body: { name: string; slug?: string }) => Promise<Organization>;
  onCreated: () => Promise<void>;
}) {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const n = name.trim();
    const s = slug.trim();
    setError(null);
    setStatus('');
    if (!n) return setError('Give the organization a name.');
    setBusy(true);
    try {
      const org = await create({ name: n, ...(s ? { slug: s } : {}) });
      setName('');
      setSlug('');
      await onCreated();
      setStatus(`Created ${org.name}.`);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'slug_taken') setError('Another organization has this slug.');
      else if (err instanceof ApiError && err.code === 'organizations_disabled')
        setError('Organizations are off in this tenant (it is no longer in B2B mode).');
      else if (!(err instanceof ApiError && err.status === 401)) setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card inline-form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="new-org-heading">
      <h2 id="new-org-heading">New organization</h2>
      <div className="row">
        <div>
          <label htmlFor="org-name">Name</label>
          <input id="org-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={200} required />
        </div>
        <div>
          <label htmlFor="org-slug">Slug (optional)</label>
          <input
            id="org-slug"
            value={slug}
            onChange={(e) => setSlug(e.target.value)}
            maxLength={63}
            spellCheck={false}
          />
        </div>
        <button type="submit" disabled={busy}>
          Create organization
        </button>
      </div>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      <p role="status" className="hint">
        {status}
      </p>
    </form>
  );
}

function OrganizationRow({
  org,
  remove,
  onRemoved,
}: {
  org: Organization;
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
      setError(describeError(e));
    }
  };

  return (
    <tr>
      <td>
        <a href={organizationHref(org.id)}>{org.name}</a>
      </td>
      <td>
        <code>{org.slug}</code>
      </td>
      <td>
        <code>{org.id}</code>
      </td>
      <td>{formatDate(org.created_at)}</td>
      <td className="row-actions">
        <ConfirmButton label="Delete" subject={org.name} onConfirm={doRemove} />
        {error ? (
          <span role="alert" className="error">
            {error}
          </span>
        ) : null}
      </td>
    </tr>
  );
}
