import { useEffect, useId, useState } from 'react';
import { ConfirmButton } from '../components/ConfirmButton';
import { ErrorLine, WithDashboardKey } from '../components/DashboardKey';
import { Pager } from '../components/Pager';
import { SecretOnce } from '../components/SecretOnce';
import { useConsole } from '../context';
import { ApiError, type Delivery, type DeliveryStatus, type ProjectApi, type WebhookEndpoint } from '../lib/api';
import { failure } from '../lib/errors';
import { deliveryStatusText, endpointStatus, formatDate, formatLatency, formatTime } from '../lib/format';
import { usePagedList } from '../lib/usePagedList';
import { href, navigate, useQueryString, type Route } from '../lib/router';
import { NoTenant, PageTitle } from './PageTitle';

const PER_PAGE = 25;
const STATUSES: ReadonlyArray<{ value: DeliveryStatus | ''; label: string }> = [
  { value: '', label: 'All' },
  { value: 'failed', label: 'Failed' },
  { value: 'pending', label: 'Pending' },
  { value: 'delivered', label: 'Delivered' },
];
/** While a delivery on the page is due within this long, the page reads the list again. */
const POLL_MS = 2000;
const POLL_HORIZON_MS = 60_000;

function isStatus(v: string | null): v is DeliveryStatus {
  return v === 'pending' || v === 'delivered' || v === 'failed';
}

/**
 * One webhook endpoint (GET /v1/webhook-endpoints/{id}): enable/disable (PATCH),
 * rotate the secret (POST …/rotate-secret, shown once), delete (DELETE); its delivery
 * history, newest first (GET …/deliveries?status=&after=), with Retry on failed ones
 * (POST …/deliveries/{delivery}/retry).
 */
export function WebhookDetail({ id }: { id: string }) {
  const { home } = useConsole();
  const tenant = home.tenant;
  if (!tenant) {
    return (
      <>
        <PageTitle title="Webhook endpoint" />
        <NoTenant />
      </>
    );
  }
  return (
    <WithDashboardKey
      tenantId={tenant.id}
      heading="Connect to the webhook API"
      why="Webhook endpoints are managed with a secret key of the tenant."
      titleWithoutKey="Webhook endpoint"
    >
      {(project) => <EndpointView project={project} id={id} />}
    </WithDashboardKey>
  );
}

function EndpointView({ project, id }: { project: ProjectApi; id: string }) {
  const [endpoint, setEndpoint] = useState<WebhookEndpoint | null>(null);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const query = useQueryString();

  useEffect(() => {
    let live = true;
    project
      .webhookEndpoint(id)
      .then((e) => live && setEndpoint(e))
      .catch((e: unknown) => {
        if (!live) return;
        if (e instanceof ApiError && e.status === 404) setMissing(true);
        else setError(failure(e));
      });
    return () => {
      live = false;
    };
  }, [project, id]);

  const toggle = async () => {
    if (!endpoint) return;
    setBusy(true);
    setError(null);
    try {
      setEndpoint(await project.updateWebhookEndpoint(id, { enabled: !endpoint.enabled }));
    } catch (e) {
      setError(failure(e));
    } finally {
      setBusy(false);
    }
  };

  const rotate = async () => {
    setError(null);
    try {
      setSecret((await project.rotateWebhookSecret(id)).secret);
    } catch (e) {
      setError(failure(e));
    }
  };

  const remove = async () => {
    setError(null);
    try {
      await project.deleteWebhookEndpoint(id);
      navigate('/webhooks');
    } catch (e) {
      setError(failure(e));
    }
  };

  if (missing) {
    return (
      <>
        <PageTitle title="Webhook endpoint not found" />
        <p className="lead">
          No webhook endpoint of this tenant has the id <code>{id}</code>.{' '}
          <a href={href('/webhooks')}>Back to the endpoints</a>
        </p>
      </>
    );
  }

  return (
    <>
      <p className="crumbs">
        <a href={href('/webhooks')}>All webhook endpoints</a>
      </p>
      <PageTitle title="Webhook endpoint" />
      <ErrorLine error={error} />
      {endpoint === null ? (
        error ? null : (
          <p aria-live="polite">Loading…</p>
        )
      ) : (
        <>
          <dl className="facts card">
            <dt>URL</dt>
            <dd>
              <code className="wrap">{endpoint.url}</code>
            </dd>
            <dt>Id</dt>
            <dd>
              <code>{endpoint.id}</code>
            </dd>
            <dt>Events</dt>
            <dd>
              {endpoint.events.map((ev) => (
                <code key={ev} className="tag">
                  {ev}
                </code>
              ))}
            </dd>
            <dt>Status</dt>
            <dd>
              <span className="status" data-status={endpoint.enabled ? 'enabled' : 'disabled'}>
                {endpointStatus(endpoint)}
              </span>
            </dd>
            <dt>Created</dt>
            <dd>{formatDate(endpoint.created_at)}</dd>
          </dl>
          <div className="toolbar" role="group" aria-label="Endpoint actions">
            <button type="button" className="secondary" onClick={() => void toggle()} disabled={busy}>
              {endpoint.enabled ? 'Disable endpoint' : 'Enable endpoint'}
            </button>
            <ConfirmButton label="Rotate secret" subject={endpoint.url} onConfirm={rotate} />
            <ConfirmButton label="Delete" subject={endpoint.url} onConfirm={remove} />
          </div>
          {!endpoint.enabled ? (
            <p className="notice">
              While the endpoint is disabled, new events are not queued for it and pending deliveries wait.
            </p>
          ) : null}
          {secret ? (
            <SecretOnce
              title="Copy the new signing secret now"
              label="Signing secret"
              secret={secret}
              onDone={() => setSecret(null)}
            >
              For 24 hours each delivery also carries a signature made with the previous secret.
            </SecretOnce>
          ) : null}
          <Deliveries key={query} project={project} id={id} query={query} />
        </>
      )}
    </>
  );
}

function Deliveries({ project, id, query }: { project: ProjectApi; id: string; query: string }) {
  const requested = new URLSearchParams(query).get('status');
  const status = isStatus(requested) ? requested : null;
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState('');
  const filterId = useId();
  const list = usePagedList(
    (after) => project.deliveries(id, { status, limit: PER_PAGE, after }),
    [project, id, status],
    (e) => setError(failure(e)),
  );
  const { page, reload: refresh } = list;

  // A retried delivery is sent within moments: read the list again while one is due soon.
  useEffect(() => {
    if (!page) return;
    const soon = page.data.some(
      (d) => d.status === 'pending' && (!d.next_retry_at || Date.parse(d.next_retry_at) - Date.now() < POLL_HORIZON_MS),
    );
    if (!soon) return;
    const t = window.setTimeout(refresh, POLL_MS);
    return () => window.clearTimeout(t);
  }, [page, refresh]);

  const retry = async (d: Delivery) => {
    setError(null);
    setNotice('');
    try {
      const updated = await project.retryDelivery(id, d.id);
      list.update((p) => ({ ...p, data: p.data.map((x) => (x.id === d.id ? updated : x)) }));
      setNotice(`Retry queued: the delivery of ${d.event_type} is pending again.`);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'delivery_in_flight')
        setError('The delivery is being sent right now; try again in a moment.');
      else setError(failure(e));
    }
  };

  const route: Route = `/webhooks/${id}`;

  return (
    <section aria-labelledby="deliveries-heading">
      <div className="section-head">
        <h2 id="deliveries-heading">Deliveries</h2>
        <div className="page-size">
          <label htmlFor={filterId}>Status</label>
          <select
            id={filterId}
            value={status ?? ''}
            onChange={(e) => navigate(route, { status: e.target.value || null })}
          >
            {STATUSES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        <button type="button" className="secondary" onClick={refresh}>
          Refresh deliveries
        </button>
      </div>
      <p className="hint">
        One entry per event, newest first. A failed delivery has spent every retry; Retry sends it again now.
      </p>
      <ErrorLine error={error} />
      <p role="status" className="hint">
        {notice}
      </p>
      {page === null ? (
        error ? null : (
          <p aria-live="polite">Loading…</p>
        )
      ) : page.data.length === 0 ? (
        <p>{status ? `No ${status} deliveries.` : 'No deliveries yet: events after the endpoint was created show here.'}</p>
      ) : (
        <table className="deliveries">
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Last answer</th>
              <th scope="col">Latency</th>
              <th scope="col">Created</th>
              <th scope="col">Attempts</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {page.data.map((d) => (
              <tr key={d.id} data-delivery-id={d.id} data-status={d.status}>
                <td>
                  <code className="nowrap">{d.event_type}</code>
                  <br />
                  <code className="muted small">{d.event_id}</code>
                </td>
                <td>
                  <span className="status" data-status={d.status}>
                    {deliveryStatusText(d)}
                  </span>
                  {d.next_retry_at ? <span className="small muted block">next try {formatTime(d.next_retry_at)}</span> : null}
                </td>
                <td>
                  {d.status_code !== null ? `HTTP ${d.status_code}` : null}
                  {d.last_error ? <span className="error-text">{d.last_error}</span> : null}
                  {d.status_code === null && !d.last_error ? <span className="muted">—</span> : null}
                </td>
                <td className="nowrap">{formatLatency(d.latency_ms)}</td>
                <td>{formatDate(d.created_at)}</td>
                <td>
                  {d.attempts.length === 0 ? (
                    <span className="muted">none yet</span>
                  ) : (
                    <details>
                      <summary>
                        {d.attempts.length} {d.attempts.length === 1 ? 'attempt' : 'attempts'}
                      </summary>
                      <ol className="attempts">
                        {d.attempts.map((a) => (
                          <li key={a.try}>
                            {formatTime(a.at)}: {a.status_code !== null ? `HTTP ${a.status_code}` : 'no answer'},{' '}
                            {formatLatency(a.latency_ms)}
                            {a.error ? <span className="error-text">{a.error}</span> : null}
                          </li>
                        ))}
                      </ol>
                    </details>
                  )}
                </td>
                <td className="row-actions">
                  {d.status === 'failed' ? (
                    <button type="button" className="secondary" onClick={() => void retry(d)}>
                      Retry<span className="visually-hidden"> the delivery of {d.event_type} {d.event_id}</span>
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page ? (
        <Pager
          label="Delivery pages"
          trail={list.trail}
          perPage={PER_PAGE}
          rows={page.data.length}
          nextCursor={page.next_cursor}
          onBack={list.back}
          onForward={list.forward}
          backLabel="Newer"
          forwardLabel="Older"
        />
      ) : null}
    </section>
  );
}
