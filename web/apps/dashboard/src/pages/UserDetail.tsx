import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ErrorLine, WithDashboardKey } from '../components/DashboardKey';
import { useConsole } from '../context';
import { ApiError, type Membership, type Organization, type ProjectApi, type Tenant, type User } from '../lib/api';
import { failure } from '../lib/errors';
import { formatDate, fullName } from '../lib/format';
import { organizationsEnabled } from '../lib/modes';
import { href } from '../lib/router';
import { NoTenant, PageTitle } from './PageTitle';

/** The built-in roles (POST /v1/memberships defaults to `member`). */
const ROLES = ['member', 'admin'] as const;

/**
 * One user (GET /v1/users/{id}) and every membership they hold (GET
 * /v1/users/{id}/memberships), each with its organization's name (GET
 * /v1/organizations/{id}), role and status; in a b2b tenant, a form that adds them to an
 * organization (POST /v1/memberships).
 */
export function UserDetail({ id }: { id: string }) {
  const { home } = useConsole();
  const tenant = home.tenant;
  if (!tenant) {
    return (
      <>
        <PageTitle title="User" />
        <NoTenant />
      </>
    );
  }
  return (
    <WithDashboardKey
      tenantId={tenant.id}
      heading="Connect to the user API"
      why="Users are managed with a secret key of the tenant."
      titleWithoutKey="User"
    >
      {(project) => <UserView project={project} id={id} tenant={tenant} />}
    </WithDashboardKey>
  );
}

function UserView({ project, id, tenant }: { project: ProjectApi; id: string; tenant: Tenant }) {
  const [user, setUser] = useState<User | null>(null);
  const [missing, setMissing] = useState(false);
  const [memberships, setMemberships] = useState<Membership[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [orgs, setOrgs] = useState<Record<string, Organization | null>>({});
  const [error, setError] = useState<string | null>(null);

  /** Names for the organizations not yet known (one GET each; a gone one stays its id). */
  const nameOrganizations = useCallback(
    async (list: Membership[]) => {
      const ids = [...new Set(list.map((m) => m.organization_id))];
      const found = await Promise.all(
        ids.map((orgId) =>
          project.organization(orgId).then(
            (o) => [orgId, o] as const,
            () => [orgId, null] as const,
          ),
        ),
      );
      setOrgs((known) => ({ ...known, ...Object.fromEntries(found) }));
    },
    [project],
  );

  const loadMemberships = useCallback(async () => {
    const page = await project.userMemberships(id);
    setMemberships(page.data);
    setNext(page.next_cursor);
    await nameOrganizations(page.data);
  }, [project, id, nameOrganizations]);

  useEffect(() => {
    let live = true;
    project
      .user(id)
      .then((u) => {
        if (!live) return;
        setUser(u);
        return loadMemberships();
      })
      .catch((e: unknown) => {
        if (!live) return;
        if (e instanceof ApiError && e.status === 404) setMissing(true);
        else setError(failure(e));
      });
    return () => {
      live = false;
    };
  }, [project, id, loadMemberships]);

  const more = async () => {
    if (!next) return;
    try {
      const page = await project.userMemberships(id, next);
      setMemberships((m) => [...(m ?? []), ...page.data]);
      setNext(page.next_cursor);
      await nameOrganizations(page.data);
    } catch (e) {
      setError(failure(e));
    }
  };

  if (missing) {
    return (
      <>
        <PageTitle title="User not found" />
        <p className="lead">
          No user of this tenant has the id <code>{id}</code>. <a href={href('/users')}>Back to all users</a>
        </p>
      </>
    );
  }

  return (
    <>
      <p className="crumbs">
        <a href={href('/users')}>All users</a>
      </p>
      <PageTitle title={user ? user.email : 'User'} />
      <ErrorLine error={error} />
      {user === null ? (
        error ? null : (
          <p aria-live="polite">Loading…</p>
        )
      ) : (
        <>
          <dl className="facts card">
            <dt>Id</dt>
            <dd>
              <code>{user.id}</code>
            </dd>
            <dt>Name</dt>
            <dd>{fullName(user) ?? <span className="muted">not given</span>}</dd>
            <dt>Email verified</dt>
            <dd>{user.email_verified ? 'Yes' : 'No'}</dd>
            <dt>Created</dt>
            <dd>{formatDate(user.created_at)}</dd>
            <dt>Updated</dt>
            <dd>{formatDate(user.updated_at)}</dd>
            <dt>Audit log</dt>
            <dd>
              <a href={href('/audit', { actor_id: user.id })}>Entries by this user</a>
            </dd>
          </dl>
          <section aria-labelledby="memberships-heading">
            <h2 id="memberships-heading">Memberships</h2>
            {memberships === null ? (
              <p aria-live="polite">Loading…</p>
            ) : memberships.length === 0 ? (
              <p>{user.email} belongs to no organization.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Organization</th>
                    <th scope="col">Role</th>
                    <th scope="col">Status</th>
                    <th scope="col">Joined</th>
                    <th scope="col">Membership id</th>
                  </tr>
                </thead>
                <tbody>
                  {memberships.map((m) => {
                    const org = orgs[m.organization_id];
                    return (
                      <tr key={m.id} data-membership-id={m.id}>
                        <td>
                          {org ? org.name : <code>{m.organization_id}</code>}
                          {org ? (
                            <>
                              {' '}
                              <code className="muted">{org.id}</code>
                            </>
                          ) : null}
                        </td>
                        <td>{m.role}</td>
                        <td>
                          <span className="status" data-status={m.status}>
                            {m.status}
                          </span>
                        </td>
                        <td>{m.joined_at ? formatDate(m.joined_at) : <span className="muted">not yet</span>}</td>
                        <td>
                          <code>{m.id}</code>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
            {next ? (
              <button type="button" className="secondary" onClick={() => void more()}>
                Show more memberships
              </button>
            ) : null}
          </section>
          {organizationsEnabled(tenant.mode) && memberships !== null ? (
            <AddMembership
              project={project}
              user={user}
              memberOf={memberships.map((m) => m.organization_id)}
              onAdded={loadMemberships}
            />
          ) : null}
        </>
      )}
    </>
  );
}

function AddMembership({
  project,
  user,
  memberOf,
  onAdded,
}: {
  project: ProjectApi;
  user: User;
  memberOf: string[];
  onAdded: () => Promise<void>;
}) {
  const [orgs, setOrgs] = useState<Organization[] | null>(null);
  const [orgId, setOrgId] = useState('');
  const [role, setRole] = useState<string>('member');
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    project
      .organizations()
      .then((p) => live && setOrgs(p.data))
      .catch((e: unknown) => live && setError(failure(e)));
    return () => {
      live = false;
    };
  }, [project]);

  const open = (orgs ?? []).filter((o) => !memberOf.includes(o.id));
  const chosen = open.some((o) => o.id === orgId) ? orgId : (open[0]?.id ?? '');

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setStatus('');
    if (!chosen) return;
    setBusy(true);
    try {
      await project.createMembership({ user_id: user.id, organization_id: chosen, role });
      await onAdded();
      const name = orgs?.find((o) => o.id === chosen)?.name ?? chosen;
      setStatus(`Added ${user.email} to ${name} as ${role}.`);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'membership_exists')
        setError('The user already has a membership in that organization.');
      else setError(failure(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-labelledby="add-membership-heading">
      <h2 id="add-membership-heading">Add to an organization</h2>
      {orgs === null ? (
        error ? null : (
          <p aria-live="polite">Loading the organizations…</p>
        )
      ) : open.length === 0 ? (
        <p>
          {orgs.length === 0 ? 'The tenant has no organizations yet.' : 'The user is in every organization listed.'}{' '}
          <a href={href('/organizations')}>Organizations</a>
        </p>
      ) : (
        <div className="row">
          <div>
            <label htmlFor="membership-org">Organization</label>
            <select id="membership-org" value={chosen} onChange={(e) => setOrgId(e.target.value)}>
              {open.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="membership-role">Role</label>
            <select id="membership-role" value={role} onChange={(e) => setRole(e.target.value)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" disabled={busy}>
            Add membership
          </button>
        </div>
      )}
      <ErrorLine error={error} />
      <p role="status" className="hint">
        {status}
      </p>
    </form>
  );
}
