import { useEffect, useState } from 'react';
import { ErrorLine, WithDashboardKey } from '../components/DashboardKey';
import { useConsole } from '../context';
import { ApiError, type Organization, type ProjectApi } from '../lib/api';
import { failure } from '../lib/errors';
import { formatDate } from '../lib/format';
import { href } from '../lib/router';
import { NoTenant, PageTitle } from './PageTitle';
import { SsoConnections } from './SsoConnections';

/** One organization (GET /v1/organizations/{id}) and its SSO connections. */
export function OrganizationDetail({ id }: { id: string }) {
  const { home } = useConsole();
  const tenant = home.tenant;
  if (!tenant) {
    return (
      <>
        <PageTitle title="Organization" />
        <NoTenant />
      </>
    );
  }
  return (
    <WithDashboardKey
      tenantId={tenant.id}
      heading="Connect to the organization API"
      why="Organizations are managed with a secret key of the tenant."
      titleWithoutKey="Organization"
    >
      {(project) => <OrganizationView project={project} id={id} />}
    </WithDashboardKey>
  );
}

export function OrganizationView({ project, id }: { project: ProjectApi; id: string }) {
  const [org, setOrg] = useState<Organization | null>(null);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    project
      .organization(id)
      .then((o) => live && setOrg(o))
      .catch((e: unknown) => {
        if (!live) return;
        if (e instanceof ApiError && e.status === 404) setMissing(true);
        else setError(failure(e));
      });
    return () => {
      live = false;
    };
  }, [project, id]);

  if (missing) {
    return (
      <>
        <PageTitle title="Organization not found" />
        <p className="lead">
          No organization of this tenant has the id <code>{id}</code>.{' '}
          <a href={href('/organizations')}>Back to the organizations</a>
        </p>
      </>
    );
  }

  return (
    <>
      <p className="crumbs">
        <a href={href('/organizations')}>All organizations</a>
      </p>
      <PageTitle title={org ? org.name : 'Organization'} />
      <ErrorLine error={error} />
      {org === null ? (
        error ? null : (
          <p aria-live="polite">Loading…</p>
        )
      ) : (
        <>
          <dl className="facts card">
            <dt>Slug</dt>
            <dd>
              <code>{org.slug}</code>
            </dd>
            <dt>Id</dt>
            <dd>
              <code>{org.id}</code>
            </dd>
            <dt>Domains</dt>
            <dd>
              {(org.domains ?? []).length === 0 ? (
                <span className="muted">none</span>
              ) : (
                (org.domains ?? []).map((d) => (
                  <code key={d} className="tag">
                    {d}
                  </code>
                ))
              )}
            </dd>
            <dt>Created</dt>
            <dd>{formatDate(org.created_at)}</dd>
          </dl>
          <SsoConnections project={project} organizationId={org.id} />
        </>
      )}
    </>
  );
}
