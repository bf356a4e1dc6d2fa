import { useCallback, useMemo, useState, type ReactNode } from 'react';
import { useConsole } from '../context';
import { describeError, projectApi, type ProjectApi } from '../lib/api';
import { PageTitle } from '../pages/PageTitle';
import { DASHBOARD_KEY_NAME, dropKey, heldKey, holdKey, type HeldKey } from '../lib/dashboardKeys';

export const LOST_KEY_MESSAGE = 'The dashboard key no longer works (it was revoked). Create another to continue.';

export interface DashboardKey {
  /** The project API with the held key, or null while the tab holds none for this tenant. */
  project: ProjectApi | null;
  /** Create a test key for the tenant and hold its secret in memory. */
  create: () => Promise<void>;
  busy: boolean;
  /** Why creating failed, or that the held key stopped working. */
  error: string | null;
}

/**
 * The tenant's dashboard key: a test secret key the operator asks the dashboard to
 * create (the console API has no project routes), held in this tab's memory only and
 * shared by every page of the tenant; a 401 answer drops it.
 */
export function useDashboardKey(tenantId: string): DashboardKey {
  const { api } = useConsole();
  const [key, setKey] = useState<HeldKey | undefined>(() => heldKey(tenantId));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const lost = useCallback(() => {
    dropKey(tenantId);
    setKey(undefined);
    setError(LOST_KEY_MESSAGE);
  }, [tenantId]);

  const project = useMemo(() => (key ? projectApi(key.secret, lost) : null), [key, lost]);

  const create = useCallback(async () => {
    setBusy(true);
    setError(null);
    try {
      // Another page of this tab may have made one meanwhile.
      const already = heldKey(tenantId);
      if (already) {
        setKey(already);
        return;
      }
      const created = await api.createApiKey(tenantId, { name: DASHBOARD_KEY_NAME, environment: 'test' });
      const held = { keyId: created.id, secret: created.secret };
      holdKey(tenantId, held);
      setKey(held);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }, [api, tenantId]);

  return { project, create, busy, error };
}

/** The step that offers to create the dashboard key, with what it is for. */
export function DashboardKeyCard({
  heading,
  children,
  dashboardKey,
}: {
  /** "Connect to the organization API". */
  heading: string;
  /** What needs the key ("Organizations are managed with a secret key of the tenant."). */
  children: ReactNode;
  dashboardKey: DashboardKey;
}) {
  return (
    <section className="card" aria-labelledby="key-heading">
      <h2 id="key-heading">{heading}</h2>
      <p>
        {children} The dashboard can create a test key named “{DASHBOARD_KEY_NAME}” and keep its secret in this tab's
        memory only; signing out revokes it.
      </p>
      <button type="button" onClick={() => void dashboardKey.create()} disabled={dashboardKey.busy}>
        {dashboardKey.busy ? 'Creating the key…' : 'Create a dashboard key'}
      </button>
    </section>
  );
}

/** An error line (role alert), or nothing. */
export function ErrorLine({ error }: { error: string | null }) {
  return error ? (
    <p role="alert" className="error">
      {error}
    </p>
  ) : null;
}

/**
 * The project API for the active tenant's pages: the children get it once the tab holds
 * a dashboard key; until then, the step that creates one.
 */
export function WithDashboardKey({
  tenantId,
  heading,
  why,
  titleWithoutKey,
  children,
}: {
  tenantId: string;
  heading: string;
  why: string;
  /** For pages whose children render the h1: the page's title while there is no key. */
  titleWithoutKey?: string;
  children: (project: ProjectApi) => ReactNode;
}) {
  const dashboardKey = useDashboardKey(tenantId);
  if (dashboardKey.project) {
    return (
      <>
        <ErrorLine error={dashboardKey.error} />
        {children(dashboardKey.project)}
      </>
    );
  }
  return (
    <>
      {titleWithoutKey ? <PageTitle title={titleWithoutKey} /> : null}
      <ErrorLine error={dashboardKey.error} />
      <DashboardKeyCard heading={heading} dashboardKey={dashboardKey}>
        {why}
      </DashboardKeyCard>
    </>
  );
}
