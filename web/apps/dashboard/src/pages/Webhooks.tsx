import { useState, type FormEvent } from 'react';
import { ConfirmButton } from '../components/ConfirmButton';
import { ErrorLine, WithDashboardKey } from '../components/DashboardKey';
import { Pager } from '../components/Pager';
import { SecretOnce } from '../components/SecretOnce';
import { useConsole } from '../context';
import {
  ApiError,
  type CreatedWebhookEndpoint,
  type ProjectApi,
  type WebhookEndpoint,
} from '../lib/api';
import { failure } from '../lib/errors';
import { endpointStatus, formatDate, parseEventFilters } from '../lib/format';
import { usePagedList } from '../lib/usePagedList';
import { webhookHref } from '../lib/router';
import { NoTenant, PageTitle } from './PageTitle';

const PER_PAGE = 25;

/**
 * The project's webhook endpoints: the list (GET /v1/webhook-endpoints), a form that
 * adds one (POST, the signing secret shown this once), enable/disable (PATCH
 * {enabled}) and delete (DELETE). Each endpoint's page has its deliveries.
 */
export function Webhooks() {
  const { home } = useConsole();
  const tenant = home.tenant;
  return (
    <>
      <PageTitle title="Webhooks" />
      {!tenant ? (
        <NoTenant />
      ) : (
        <WithDashboardKey
          tenantId={tenant.id}
          heading="Connect to the webhook API"
          why="Webhook endpoints are managed with a secret key of the tenant."
        >
          {(project) => <Endpoints project={project} />}
        </WithDashboardKey>
      )}
    </>
  );
}

function Endpoints({ project }: { project: ProjectApi }) {
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<CreatedWebhookEndpoint | null>(null);
  const list = usePagedList(
    (after) => project.webhookEndpoints({ limit: PER_PAGE, after }),
    [project],
    (e) => setError(failure(e)),
  );
  const { page, reload } = list;

  return (
    <>
      <p className="lead">
        Authio signs each delivery following Standard Webhooks (<code>webhook-id</code>,{' '}
        <code>webhook-timestamp</code>, <code>webhook-signature</code>) and retries failures with backoff for about a
        day.
      </p>
      {created ? (
        <SecretOnce
          title={`Copy the signing secret of ${created.url} now`}
          label="Signing secret"
          secret={created.secret}
          onDone={() => setCreated(null)}
        >
          Your receiver checks each delivery's signature with it.
        </SecretOnce>
      ) : null}
      <NewEndpoint
        project={project}
        onCreated={(e) => {
          setCreated(e);
          reload();
        }}
      />
      <section aria-labelledby="endpoint-list-heading">
        <h2 id="endpoint-list-heading">Endpoints</h2>
        <ErrorLine error={error} />
        {page === null ? (
          error ? null : (
            <p aria-live="polite">Loading…</p>
          )
        ) : page.data.length === 0 ? (
          <p>No webhook endpoints yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Events</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {page.data.map((e) => (
                <EndpointRow key={e.id} endpoint={e} project={project} onChanged={reload} />
              ))}
            </tbody>
          </table>
        )}
        {page ? (
          <Pager
            label="Endpoint pages"
            trail={list.trail}
            perPage={PER_PAGE}
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

function EndpointRow({
  endpoint,
  project,
  onChanged,
}: {
  endpoint: WebhookEndpoint;
  project: ProjectApi;
  onChanged: () => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const toggle = async () => {
    setError(null);
    setBusy(true);
    try {
      await project.updateWebhookEndpoint(endpoint.id, { enabled: !endpoint.enabled });
      onChanged();
    } catch (e) {
      setError(failure(e));
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    setError(null);
    try {
      await project.deleteWebhookEndpoint(endpoint.id);
      onChanged();
    } catch (e) {
      setError(failure(e));
    }
  };

  return (
    <tr data-endpoint-id={endpoint.id}>
      <td>
        <a href={webhookHref(endpoint.id)}>
          <code className="wrap">{endpoint.url}</code>
        </a>
      </td>
      <td>
        {endpoint.events.map((ev) => (
          <code key={ev} className="tag">
            {ev}
          </code>
        ))}
      </td>
      <td>
        <span className="status" data-status={endpoint.enabled ? 'enabled' : 'disabled'}>
          {endpointStatus(endpoint)}
        </span>
      </td>
      <td>{formatDate(endpoint.created_at)}</td>
      <td className="row-actions">
        <button type="button" className="secondary" onClick={() => void toggle()} disabled={busy}>
          {endpoint.enabled ? 'Disable' : 'Enable'}
          <span className="visually-hidden"> {endpoint.url}</span>
        </button>{' '}
        <ConfirmButton label="Delete" subject={endpoint.url} onConfirm={remove} />
        <ErrorLine error={error} />
      </td>
    </tr>
  );
}

function NewEndpoint({
  project,
  onCreated,
}: {
  project: ProjectApi;
  onCreated: (e: CreatedWebhookEndpoint) => void;
}) {
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState('*');
  const [error, setError] = useState<{ field: 'url' | 'events' | null; message: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const target = url.trim();
    const filters = parseEventFilters(events);
    if (!target) return setError({ field: 'url', message: 'Give the URL that receives the deliveries.' });
    if (filters.length === 0)
      return setError({ field: 'events', message: 'Name at least one event type, a family such as membership.*, or *.' });
    setBusy(true);
    try {
      const created = await project.createWebhookEndpoint({ url: target, events: filters });
      setUrl('');
      setEvents('*');
      onCreated(created);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'webhook_url_not_allowed')
        setError({ field: 'url', message: 'This URL points at a private or loopback address, which is not allowed.' });
      else if (err instanceof ApiError && err.field === 'url')
        setError({ field: 'url', message: 'Enter an absolute http:// or https:// URL (at most 2048 characters).' });
      else if (err instanceof ApiError && err.field === 'events')
        setError({
          field: 'events',
          message: 'Events are 1 to 50 known event types, families such as membership.*, or *.',
        });
      else {
        const message = failure(err);
        if (message) setError({ field: null, message });
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="new-endpoint-heading">
      <h2 id="new-endpoint-heading">New endpoint</h2>
      <div className="row">
        <div className="grow">
          <label htmlFor="endpoint-url">URL</label>
          <input
            id="endpoint-url"
            type="url"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            maxLength={2048}
            placeholder="https://example.com/webhooks/authio"
            spellCheck={false}
            aria-invalid={error?.field === 'url' ? true : undefined}
            required
          />
        </div>
        <div>
          <label htmlFor="endpoint-events">Events</label>
          <input
            id="endpoint-events"
            value={events}
            onChange={(e) => setEvents(e.target.value)}
            spellCheck={false}
            aria-describedby="endpoint-events-hint"
            aria-invalid={error?.field === 'events' ? true : undefined}
          />
        </div>
        <button type="submit" disabled={busy}>
          Create endpoint
        </button>
      </div>
      <p className="hint" id="endpoint-events-hint">
        Event types separated by commas or spaces: a type such as <code>organization.created</code>, a family such as{' '}
        <code>membership.*</code>, or <code>*</code> for all.
      </p>
      <ErrorLine error={error?.message ?? null} />
    </form>
  );
}
