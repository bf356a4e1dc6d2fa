import { useState, type FormEvent } from 'react';
import { ErrorLine, WithDashboardKey } from '../components/DashboardKey';
import { PageSizeSelect, Pager } from '../components/Pager';
import { useConsole } from '../context';
import { ApiError, type ProjectApi, type User } from '../lib/api';
import { formatDate, fullName } from '../lib/format';
import { parsePageSize } from '../lib/paging';
import { usePagedList } from '../lib/usePagedList';
import { navigate, useQueryString, userHref } from '../lib/router';
import { failure } from '../lib/errors';
import { NoTenant, PageTitle } from './PageTitle';

/**
 * The tenant's users: the list in pages (GET /v1/users, cursor paging), a search by
 * email (`?email=`, an exact match that ignores case) and a form that adds a user
 * (POST /v1/users). The search and page size ride in the hash: `#/users?email=…`.
 */
export function Users() {
  const { home } = useConsole();
  const query = useQueryString();
  const tenant = home.tenant;
  return (
    <>
      <PageTitle title="Users" />
      {!tenant ? (
        <NoTenant />
      ) : (
        <WithDashboardKey
          tenantId={tenant.id}
          heading="Connect to the user API"
          why="Users are managed with a secret key of the tenant."
        >
          {(project) => <UserDirectory key={query} project={project} query={query} />}
        </WithDashboardKey>
      )}
    </>
  );
}

function UserDirectory({ project, query }: { project: ProjectApi; query: string }) {
  const params = new URLSearchParams(query);
  const email = (params.get('email') ?? '').trim();
  const perPage = parsePageSize(params.get('per_page'));
  const [error, setError] = useState<string | null>(null);
  const list = usePagedList(
    (after) => {
      setError(null);
      return project.users({ email: email || undefined, limit: perPage, after });
    },
    [project, email, perPage],
    (e) => setError(failure(e)),
  );
  const { page } = list;

  const search = (next: { email?: string; perPage?: number }) =>
    navigate('/users', {
      email: next.email ?? email,
      per_page: String(next.perPage ?? perPage) === '25' ? null : String(next.perPage ?? perPage),
    });

  return (
    <>
      <SearchForm initial={email} onSearch={(e) => search({ email: e })} onClear={email ? () => navigate('/users') : null} />
      <NewUser project={project} onCreated={list.reload} />
      <section aria-labelledby="user-list-heading">
        <div className="section-head">
          <h2 id="user-list-heading">{email ? `Users with the email ${email}` : 'All users'}</h2>
          <PageSizeSelect value={perPage} onChange={(n) => search({ perPage: n })} />
        </div>
        <ErrorLine error={error} />
        {page === null ? (
          error ? null : (
            <p aria-live="polite">Loading…</p>
          )
        ) : page.data.length === 0 ? (
          <p>{email ? `No user has the email ${email}.` : 'No users yet.'}</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Name</th>
                <th scope="col">Email verified</th>
                <th scope="col">Id</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {page.data.map((u) => (
                <tr key={u.id} data-user-id={u.id}>
                  <td>
                    <a href={userHref(u.id)}>{u.email}</a>
                  </td>
                  <td>{fullName(u) ?? <span className="muted">—</span>}</td>
                  <td>{u.email_verified ? 'Yes' : 'No'}</td>
                  <td>
                    <code>{u.id}</code>
                  </td>
                  <td>{formatDate(u.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {page ? (
          <Pager
            label="User pages"
            trail={list.trail}
            perPage={perPage}
            rows={page.data.length}
            nextCursor={page.next_cursor}
            onBack={list.back}
            onForward={list.forward}
            backLabel="Previous page"
            forwardLabel="Next page"
          />
        ) : null}
      </section>
    </>
  );
}

function SearchForm({
  initial,
  onSearch,
  onClear,
}: {
  initial: string;
  onSearch: (email: string) => void;
  onClear: (() => void) | null;
}) {
  const [email, setEmail] = useState(initial);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSearch(email.trim());
  };
  return (
    <form role="search" className="card inline-form" onSubmit={submit} aria-labelledby="user-search-heading">
      <h2 id="user-search-heading">Find a user</h2>
      <div className="row">
        <div>
          <label htmlFor="user-search-email">Email</label>
          <input
            id="user-search-email"
            type="search"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            aria-describedby="user-search-hint"
          />
        </div>
        <button type="submit">Search</button>
        {onClear ? (
          <button type="button" className="secondary" onClick={onClear}>
            Show all users
          </button>
        ) : null}
      </div>
      <p className="hint" id="user-search-hint">
        The whole address; upper and lower case match alike.
      </p>
    </form>
  );
}

function NewUser({ project, onCreated }: { project: ProjectApi; onCreated: () => void }) {
  const [email, setEmail] = useState('');
  const [first, setFirst] = useState('');
  const [last, setLast] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<User | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setCreated(null);
    const address = email.trim();
    if (!address) return setError('Give the user an email address.');
    setBusy(true);
    try {
      const user = await project.createUser({
        email: address,
        ...(first.trim() ? { first_name: first.trim() } : {}),
        ...(last.trim() ? { last_name: last.trim() } : {}),
      });
      setEmail('');
      setFirst('');
      setLast('');
      setCreated(user);
      onCreated();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'email_taken') setError('Another user of this tenant has this email.');
      else if (err instanceof ApiError && err.field === 'email') setError('Enter a valid email address.');
      else setError(failure(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card inline-form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="new-user-heading">
      <h2 id="new-user-heading">New user</h2>
        <div className="row">
          <div>
            <label htmlFor="new-user-email">Email</label>
            <input
              id="new-user-email"
              type="email"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              maxLength={254}
              required
              autoComplete="off"
            />
          </div>
          <div>
            <label htmlFor="new-user-first">First name (optional)</label>
            <input id="new-user-first" value={first} onChange={(e) => setFirst(e.target.value)} maxLength={200} />
          </div>
          <div>
            <label htmlFor="new-user-last">Last name (optional)</label>
            <input id="new-user-last" value={last} onChange={(e) => setLast(e.target.value)} maxLength={200} />
          </div>
          <button type="submit" disabled={busy}>
            Create user
          </button>
        </div>
        <ErrorLine error={error} />
        <p role="status" className="hint">
          {created ? (
            <>
              Created <a href={userHref(created.id)}>{created.email}</a>.
            </>
          ) : null}
        </p>
    </form>
  );
}
