import { useCallback, useEffect, useId, useState, type ReactNode } from 'react';
import { useConsole } from '../context';
import type { ProjectApi, Tenant } from '../lib/api';
import { failure } from '../lib/errors';
import { formatDate } from '../lib/format';
import {
  DAY_MS,
  SIGN_IN_TYPES,
  addCounts,
  countFailedDeliveries,
  countLabel,
  countOfPage,
  countSignInsSince,
  type Count,
} from '../lib/kpi';
import { organizationsEnabled } from '../lib/modes';
import { href } from '../lib/router';
import { DashboardKeyCard, ErrorLine, useDashboardKey } from './DashboardKey';

type Figure<T> = { state: 'loading' } | { state: 'done'; value: T } | { state: 'failed'; message: string };

interface Figures {
  users: Figure<Count>;
  signIns: Figure<Count>;
  failed: Figure<{ failed: Count; endpoints: Count }>;
  since: Date;
}

const LOADING: Figure<never> = { state: 'loading' };

function settle<T>(r: PromiseSettledResult<T>): Figure<T> {
  if (r.status === 'fulfilled') return { state: 'done', value: r.value };
  return { state: 'failed', message: failure(r.reason) ?? 'The dashboard key no longer works.' };
}

/** Read the figures behind the tiles that need the project API. */
export async function readFigures(project: ProjectApi, now: Date): Promise<Figures> {
  const since = new Date(now.getTime() - DAY_MS);
  const [users, signIns, failed] = await Promise.allSettled([
    project.users({ limit: 100 }).then(countOfPage),
    Promise.all(
      SIGN_IN_TYPES.map((action) =>
        countSignInsSince((after) => project.auditEvents({ action, limit: 100, after }), since),
      ),
    ).then(addCounts),
    countFailedDeliveries(
      () => project.webhookEndpoints({ limit: 100 }),
      (id) => project.deliveries(id, { status: 'failed', limit: 100 }),
    ),
  ]);
  return { users: settle(users), signIns: settle(signIns), failed: settle(failed), since };
}

/**
 * The active tenant's figures: users, organizations, sign-ins in the last 24 hours and
 * failed webhook deliveries. All but organizations (from the console API) need the
 * dashboard key; without one, the tiles offer to create it.
 */
export function KpiTiles({ tenant }: { tenant: Tenant }) {
  const { reload } = useConsole();
  const dashboardKey = useDashboardKey(tenant.id);
  const { project } = dashboardKey;
  const [figures, setFigures] = useState<Figures | null>(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    if (!project) return;
    let live = true;
    setFigures(null);
    readFigures(project, new Date()).then((f) => live && setFigures(f));
    return () => {
      live = false;
    };
  }, [project, version]);

  const refresh = useCallback(() => {
    setVersion((v) => v + 1);
    void reload().catch(() => undefined);
  }, [reload]);

  const orgsOn = organizationsEnabled(tenant.mode);
  const users = figures?.users ?? LOADING;
  const signIns = figures?.signIns ?? LOADING;
  const failed = figures?.failed ?? LOADING;

  return (
    <section className="kpis" aria-labelledby="kpi-heading">
      <div className="section-head">
        <h2 id="kpi-heading">At a glance</h2>
        {project ? (
          <button type="button" className="secondary" onClick={refresh}>
            Refresh figures
          </button>
        ) : null}
      </div>
      <ErrorLine error={dashboardKey.error} />
      <div className="tiles">
        <Tile name="Organizations" testId="kpi-organizations" value={orgsOn ? String(tenant.organizations_count) : 'Off'}>
          {orgsOn ? (
            <>
              In this tenant (<a href={href('/organizations')}>Organizations</a>).
            </>
          ) : (
            'Organizations exist only in B2B mode.'
          )}
        </Tile>
        {project ? (
          <>
            <FigureTile name="Users" testId="kpi-users" figure={users} label={(c) => countLabel(c)}>
              {(c) =>
                c.more ? (
                  <>
                    A full page of {c.value}: the API gives no total. <a href={href('/users')}>Users</a>
                  </>
                ) : (
                  <>
                    In this tenant (<a href={href('/users')}>Users</a>).
                  </>
                )
              }
            </FigureTile>
            <FigureTile name="Sign-ins, last 24 h" testId="kpi-sign-ins" figure={signIns} label={(c) => countLabel(c)}>
              {() => (
                <>
                  Counts <code>session.created</code> audit events (one per end-user sign-in, any method) since{' '}
                  {formatDate((figures?.since ?? new Date()).toISOString())}.
                </>
              )}
            </FigureTile>
            <FigureTile
              name="Failed webhook deliveries"
              testId="kpi-failed-deliveries"
              figure={failed}
              label={(f) => countLabel(f.failed)}
            >
              {(f) => (
                <>
                  Deliveries that spent every retry, across {countLabel(f.endpoints)}{' '}
                  {f.endpoints.value === 1 && !f.endpoints.more ? 'endpoint' : 'endpoints'} (
                  <a href={href('/webhooks')}>Webhooks</a>).
                </>
              )}
            </FigureTile>
          </>
        ) : null}
      </div>
      {project ? null : (
        <DashboardKeyCard heading="Connect to see users, sign-ins and webhook failures" dashboardKey={dashboardKey}>
          These figures are read with a secret key of the tenant.
        </DashboardKeyCard>
      )}
    </section>
  );
}

function Tile({
  name,
  testId,
  value,
  busy,
  children,
}: {
  name: string;
  testId: string;
  value: string;
  busy?: boolean;
  children: ReactNode;
}) {
  const id = useId();
  return (
    <div className="tile" role="group" aria-labelledby={`${id}-name`} aria-busy={busy ? true : undefined}>
      <h3 id={`${id}-name`}>{name}</h3>
      <p className="tile-value" data-testid={testId}>
        {value}
      </p>
      <p className="tile-note">{children}</p>
    </div>
  );
}

function FigureTile<T>({
  name,
  testId,
  figure,
  label,
  children,
}: {
  name: string;
  testId: string;
  figure: Figure<T>;
  label: (v: T) => string;
  children: (v: T) => ReactNode;
}) {
  switch (figure.state) {
    case 'loading':
      return (
        <Tile name={name} testId={testId} value="…" busy>
          Reading…
        </Tile>
      );
    case 'failed':
      return (
        <Tile name={name} testId={testId} value="?">
          <span className="error-text">Could not be read: {figure.message}</span>
        </Tile>
      );
    case 'done':
      return (
        <Tile name={name} testId={testId} value={label(figure.value)}>
          {children(figure.value)}
        </Tile>
      );
  }
}
