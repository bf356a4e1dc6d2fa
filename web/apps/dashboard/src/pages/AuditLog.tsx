import { useState, type FormEvent } from 'react';
import { ErrorLine, WithDashboardKey } from '../components/DashboardKey';
import { PageSizeSelect, Pager } from '../components/Pager';
import { useConsole } from '../context';
import type { AuditFilter, ProjectApi } from '../lib/api';
import { AUDIT_ACTIONS, auditFilterFromQuery, describeAuditFilter } from '../lib/audit';
import { failure } from '../lib/errors';
import { formatActor, formatInstant, formatTargets } from '../lib/format';
import { parsePageSize } from '../lib/paging';
import { usePagedList } from '../lib/usePagedList';
import { href, navigate, useQueryString } from '../lib/router';
import { NoTenant, PageTitle } from './PageTitle';

/**
 * The project's audit log (GET /v1/audit-events), newest first, filtered by
 * organization, action (event type) and actor; "Older" pages with `after=` the answer's
 * `next_cursor`. The filters ride in the hash: `#/audit?action=organization.created`.
 */
export function AuditLog() {
  const { home } = useConsole();
  const query = useQueryString();
  const tenant = home.tenant;
  return (
    <>
      <PageTitle title="Audit log" />
      {!tenant ? (
        <NoTenant />
      ) : (
        <WithDashboardKey
          tenantId={tenant.id}
          heading="Connect to the audit API"
          why="The audit log is read with a secret key of the tenant."
        >
          {(project) => <Entries key={query} project={project} query={query} />}
        </WithDashboardKey>
      )}
    </>
  );
}

function Entries({ project, query }: { project: ProjectApi; query: string }) {
  const params = new URLSearchParams(query);
  const filter = auditFilterFromQuery(params);
  const perPage = parsePageSize(params.get('per_page'));
  const [error, setError] = useState<string | null>(null);
  const { organization_id, action, actor_id } = filter;
  const list = usePagedList(
    (after) => {
      setError(null);
      return project.auditEvents({ organization_id, action, actor_id, limit: perPage, after });
    },
    [project, organization_id, action, actor_id, perPage],
    (e) => setError(failure(e)),
  );
  const { page } = list;

  const go = (f: AuditFilter, size = perPage) =>
    navigate('/audit', { ...f, per_page: size === 25 ? null : String(size) });

  const filtered = describeAuditFilter(filter);

  return (
    <>
      <FilterForm initial={filter} onApply={(f) => go(f)} onClear={filtered ? () => go({}) : null} />
      <section aria-labelledby="audit-list-heading">
        <div className="section-head">
          <h2 id="audit-list-heading">{filtered ? `Entries where ${filtered}` : 'All entries'}</h2>
          <PageSizeSelect value={perPage} onChange={(n) => go(filter, n)} />
          <button
            type="button"
            className="secondary"
            onClick={list.restart}
          >
            Show the newest
          </button>
        </div>
        <ErrorLine error={error} />
        {page === null ? (
          error ? null : (
            <p aria-live="polite">Loading…</p>
          )
        ) : page.data.length === 0 ? (
          <p>{filtered ? 'No entries match these filters.' : 'No entries yet.'}</p>
        ) : (
          <table className="audit">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Type</th>
                <th scope="col">Actor</th>
                <th scope="col">Targets</th>
                <th scope="col">Organization</th>
              </tr>
            </thead>
            <tbody>
              {page.data.map((e) => (
                <tr key={e.id} data-event-id={e.id} data-type={e.type}>
                  <td className="nowrap">
                    <time dateTime={e.occurred_at}>{formatInstant(e.occurred_at)}</time>
                  </td>
                  <td>
                    <code className="nowrap">{e.type}</code>
                  </td>
                  <td>
                    <span className="actor-type">{e.actor.type}</span>
                    {e.actor.id ? (
                      <>
                        {' '}
                        <a href={href('/audit', { actor_id: e.actor.id })} aria-label={`Entries by ${e.actor.id}`}>
                          <code>{e.actor.id}</code>
                        </a>
                      </>
                    ) : null}
                    <span className="visually-hidden"> ({formatActor(e.actor)})</span>
                  </td>
                  <td>
                    <ul className="targets">
                      {formatTargets(e.targets).map((t) => (
                        <li key={t}>
                          <code>{t}</code>
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td>
                    {e.organization_id ? (
                      <a
                        href={href('/audit', { organization_id: e.organization_id })}
                        aria-label={`Entries of ${e.organization_id}`}
                      >
                        <code>{e.organization_id}</code>
                      </a>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {page ? (
          <Pager
            label="Audit log pages"
            trail={list.trail}
            perPage={perPage}
            rows={page.data.length}
            nextCursor={page.next_cursor}
            onBack={list.back}
            onForward={list.forward}
            backLabel="Newer"
            forwardLabel="Older"
          />
        ) : null}
      </section>
    </>
  );
}

function FilterForm({
  initial,
  onApply,
  onClear,
}: {
  initial: AuditFilter;
  onApply: (f: AuditFilter) => void;
  onClear: (() => void) | null;
}) {
  const [organization, setOrganization] = useState(initial.organization_id ?? '');
  const [action, setAction] = useState(initial.action ?? '');
  const [actor, setActor] = useState(initial.actor_id ?? '');

  const submit = (e: FormEvent) => {
    e.preventDefault();
    onApply({
      organization_id: organization.trim() || undefined,
      action: action.trim() || undefined,
      actor_id: actor.trim() || undefined,
    });
  };

  return (
    <form className="card" onSubmit={submit} aria-labelledby="audit-filter-heading">
      <h2 id="audit-filter-heading">Filters</h2>
      <div className="row">
        <div>
          <label htmlFor="audit-action">Action</label>
          <input
            id="audit-action"
            list="audit-actions"
            value={action}
            onChange={(e) => setAction(e.target.value)}
            placeholder="organization.created"
            spellCheck={false}
            autoComplete="off"
          />
          <datalist id="audit-actions">
            {AUDIT_ACTIONS.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </div>
        <div>
          <label htmlFor="audit-org">Organization id</label>
          <input
            id="audit-org"
            value={organization}
            onChange={(e) => setOrganization(e.target.value)}
            placeholder="org_…"
            spellCheck={false}
            autoComplete="off"
          />
        </div>
        <div>
          <label htmlFor="audit-actor">Actor id</label>
          <input
            id="audit-actor"
            value={actor}
            onChange={(e) => setActor(e.target.value)}
            placeholder="user_… or key_…"
            spellCheck={false}
            autoComplete="off"
          />
        </div>
        <button type="submit">Apply filters</button>
        {onClear ? (
          <button type="button" className="secondary" onClick={onClear}>
            Clear filters
          </button>
        ) : null}
      </div>
      <p className="hint">
        Each filter is an exact match: the action is one event type. An actor's or an organization's id in the list
        filters by it.
      </p>
    </form>
  );
}
