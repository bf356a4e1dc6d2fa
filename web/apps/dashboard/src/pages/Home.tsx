import { useEffect } from 'react';
import { Checklist } from '../components/Checklist';
import { KpiTiles } from '../components/KpiTiles';
import { useConsole } from '../context';
import { modeInfo } from '../lib/modes';
import { href } from '../lib/router';
import { PageTitle } from './PageTitle';

/**
 * The active tenant, its figures (KPI tiles) and its checklist, which follows the mode
 * (GET /v1/session/home).
 */
export function Home() {
  const { home, reload } = useConsole();
  const tenant = home.tenant;

  // The checklist reflects changes made elsewhere (an organization created): read it anew.
  useEffect(() => {
    void reload().catch(() => undefined);
  }, [reload]);

  return (
    <>
      <PageTitle title={tenant ? tenant.name : 'Welcome'} />
      {tenant ? (
        <p className="lead">
          <span className="badge" data-testid="tenant-mode">
            {modeInfo(tenant.mode).title}
          </span>{' '}
          {modeInfo(tenant.mode).summary}
        </p>
      ) : (
        <p className="lead">
          You have no tenant selected yet. <a href={href('/tenants/new')}>Create a tenant</a> to get started.
        </p>
      )}
      {tenant ? <KpiTiles tenant={tenant} /> : null}
      <Checklist items={home.checklist} />
      {tenant ? (
        <dl className="facts card">
          <dt>Tenant id</dt>
          <dd>
            <code>{tenant.id}</code>
          </dd>
          <dt>Slug</dt>
          <dd>
            <code>{tenant.slug}</code>
          </dd>
          {tenant.mode === 'b2b' ? (
            <>
              <dt>Organizations</dt>
              <dd>{tenant.organizations_count}</dd>
            </>
          ) : null}
        </dl>
      ) : null}
    </>
  );
}
