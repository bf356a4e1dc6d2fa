// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { projectApi, type Connection } from '../src/lib/api';
import { PROTOCOL_NAMES, protocolOf } from '../src/pages/SsoConnections';
import {
  MICROSOFT_NOTE,
  PRESETS,
  SocialConnectionsView,
  TENANT_PLACEHOLDER,
  projectConnectionBody,
} from '../src/pages/SocialConnections';
import { alerts, button, click, labelled, mount, stubApi, submit, type, until, type Mounted, type Seen } from './dom';

const SECRET = 'sk_test_dashboard';
const BASE = '/v1/connections';

function connection(n: number, over: Partial<Connection> = {}): Connection {
  return {
    id: `conn_${n}`,
    organization_id: null,
    name: `Google ${n}`,
    issuer: 'https://accounts.google.com',
    client_id: `client-${n}`,
    jit_role: null,
    protocol: 'oidc',
    saml: null,
    created_at: '2026-12-01T10:00:00Z',
    updated_at: '2026-12-01T10:00:00Z',
    ...over,
  };
}

let m: Mounted | null = null;
afterEach(() => {
  m?.unmount();
  m = null;
  vi.unstubAllGlobals();
});

function render() {
  m = mount(<SocialConnectionsView project={projectApi(SECRET)} />);
  return m;
}

const rows = () =>
  [...document.querySelectorAll('tbody tr[data-connection-id]')].map((r) => [
    r.getAttribute('data-connection-id'),
    r.getAttribute('data-protocol'),
  ]);

const radio = (label: string) => {
  const l = [...document.querySelectorAll('label.radio')].find((x) => x.textContent === label);
  if (!l) throw new Error(`no preset ${label}`);
  return l.querySelector('input')!;
};

const posts = (seen: Seen[]) => seen.filter((s) => s.method === 'POST');

async function empty() {
  render();
  await until(() => expect(document.body.textContent).toContain('No social sign-in connections yet.'));
}

describe('the project connections API client', () => {
  it('lists, creates and deletes at /v1/connections with the secret key', async () => {
    const seen = stubApi({
      [`GET ${BASE}`]: () => [200, { data: [connection(1)], next_cursor: null }],
      [`POST ${BASE}`]: () => [201, connection(2, { protocol: 'github' })],
      [`DELETE ${BASE}/conn_2`]: () => [204, undefined],
    });
    const api = projectApi(SECRET);
    expect((await api.projectConnections()).data.map((c) => c.id)).toEqual(['conn_1']);
    const body = { name: 'GitHub', protocol: 'github' as const, client_id: 'Iv1', client_secret: 's' };
    expect((await api.createProjectConnection(body)).protocol).toBe('github');
    await api.deleteProjectConnection('conn_2');
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /v1/connections',
      'POST /v1/connections',
      'DELETE /v1/connections/conn_2',
    ]);
    expect(seen.every((s) => s.authorization === `Bearer ${SECRET}`)).toBe(true);
    expect(seen[1]!.body).toEqual(body);
  });

  it('carries the server\'s code, message and field on a failure', async () => {
    stubApi({
      [`POST ${BASE}`]: () => [
        400,
        { error: { code: 'invalid_request', message: 'client_id is empty', details: { field: 'client_id' } } },
      ],
    });
    await expect(
      projectApi(SECRET).createProjectConnection({ name: 'x', issuer: 'https://i', client_id: '', client_secret: 's' }),
    ).rejects.toMatchObject({ status: 400, code: 'invalid_request', field: 'client_id' });
  });

  it('knows the github protocol', () => {
    expect(protocolOf({ protocol: 'github' })).toBe('github');
    expect(PROTOCOL_NAMES.github).toBe('GitHub');
  });
});

describe('the form\'s body', () => {
  const base = { name: 'GitHub', issuer: '', clientId: ' Iv1 ', clientSecret: 's' };

  it('sends no issuer for github.com, and a GitHub Enterprise Server address when given', () => {
    expect(projectConnectionBody({ ...base, protocol: 'github' })).toEqual({
      body: { name: 'GitHub', protocol: 'github', client_id: 'Iv1', client_secret: 's' },
    });
    expect(projectConnectionBody({ ...base, protocol: 'github', issuer: ' https://ghe.example.com ' })).toEqual({
      body: { name: 'GitHub', protocol: 'github', issuer: 'https://ghe.example.com', client_id: 'Iv1', client_secret: 's' },
    });
  });

  it('needs an issuer for OpenID Connect, with the Microsoft tenant filled in', () => {
    expect(projectConnectionBody({ ...base, protocol: 'oidc' })).toMatchObject({ field: 'issuer' });
    const ms = PRESETS.find((p) => p.id === 'microsoft-tenant')!;
    expect(projectConnectionBody({ ...base, protocol: 'oidc', issuer: ms.issuer })).toEqual({
      field: 'issuer',
      message: expect.stringContaining(`Replace ${TENANT_PLACEHOLDER}`),
    });
    expect(projectConnectionBody({ ...base, protocol: 'oidc', name: ' ' })).toMatchObject({ field: 'name' });
    expect(projectConnectionBody({ ...base, protocol: 'github', clientSecret: '' })).toMatchObject({ field: 'client_secret' });
  });
});

describe('the social sign-in page', () => {
  it('lists the connections with their protocol', async () => {
    const seen = stubApi({
      [`GET ${BASE}`]: () => [
        200,
        { data: [connection(1), connection(2, { name: 'GitHub', protocol: 'github', issuer: 'https://github.com' })], next_cursor: null },
      ],
    });
    render();
    await until(() => expect(rows()).toEqual([['conn_1', 'oidc'], ['conn_2', 'github']]));
    expect(seen[0]!.authorization).toBe(`Bearer ${SECRET}`);
    const github = document.querySelector('tr[data-connection-id="conn_2"]')!;
    expect(github.textContent).toContain('GitHub');
    expect(github.querySelectorAll('td')[1]!.textContent).toBe('GitHub');
  });

  it('starts on Google, and each preset fills the protocol and issuer', async () => {
    stubApi({ [`GET ${BASE}`]: () => [200, { data: [], next_cursor: null }] });
    await empty();
    expect(radio('Google').checked).toBe(true);
    expect(labelled('Name').value).toBe('Google');
    expect(labelled('Issuer').value).toBe('https://accounts.google.com');
    expect(document.body.textContent).not.toContain('xms_edov');

    await click(radio('Microsoft (any work account)'));
    expect(labelled('Issuer').value).toBe('https://login.microsoftonline.com/common/v2.0');
    expect(labelled('Name').value).toBe('Microsoft');
    expect(document.body.textContent).toContain(MICROSOFT_NOTE);

    await click(radio('Microsoft (one tenant)'));
    expect(labelled('Issuer').value).toBe(`https://login.microsoftonline.com/${TENANT_PLACEHOLDER}/v2.0`);
    expect(document.body.textContent).toContain('xms_edov');

    await click(radio('GitHub'));
    expect(labelled('GitHub Enterprise Server address (optional)').value).toBe('');
    expect(labelled('GitHub Enterprise Server address (optional)').required).toBe(false);
    expect(labelled('Name').value).toBe('GitHub');
    expect(document.body.textContent).not.toContain('xms_edov');

    // A name typed by hand stays when the preset changes.
    await type(labelled('Name'), 'Sign in with Okta');
    await click(radio('Other OpenID Connect'));
    expect(labelled('Issuer').value).toBe('');
    expect(labelled('Name').value).toBe('Sign in with Okta');
  });

  it('adds a GitHub connection without an issuer (the secret sent, never shown), then lists it', async () => {
    let listed: Connection[] = [];
    const seen = stubApi({
      [`GET ${BASE}`]: () => [200, { data: listed, next_cursor: null }],
      [`POST ${BASE}`]: () => {
        listed = [connection(7, { name: 'GitHub', protocol: 'github', issuer: 'https://github.com', client_id: 'Iv1.abc' })];
        return [201, listed[0]];
      },
    });
    await empty();
    await click(radio('GitHub'));
    await type(labelled('Client ID'), 'Iv1.abc');
    await type(labelled('Client secret'), 'gh-s3cret');
    expect(labelled('Client secret').type).toBe('password');
    await submit(document.querySelector('form'));
    await until(() => expect(rows()).toEqual([['conn_7', 'github']]));
    expect(posts(seen)[0]!.body).toEqual({ name: 'GitHub', protocol: 'github', client_id: 'Iv1.abc', client_secret: 'gh-s3cret' });
    expect(document.body.textContent).toContain('Added the connection GitHub (conn_7).');
    expect(labelled('Client secret').value).toBe('');
    expect(document.body.textContent).not.toContain('gh-s3cret');
  });

  it('checks the form before calling: the Microsoft tenant must be filled in', async () => {
    const seen = stubApi({ [`GET ${BASE}`]: () => [200, { data: [], next_cursor: null }] });
    await empty();
    await click(radio('Microsoft (one tenant)'));
    await type(labelled('Client ID'), 'app-id');
    await type(labelled('Client secret'), 's');
    await submit(document.querySelector('form'));
    expect(alerts()[0]).toContain(`Replace ${TENANT_PLACEHOLDER} in the issuer`);
    expect(labelled('Issuer').getAttribute('aria-invalid')).toBe('true');
    expect(posts(seen)).toHaveLength(0);
  });

  it('shows the server\'s message when discovery fails, on the issuer field', async () => {
    stubApi({
      [`GET ${BASE}`]: () => [200, { data: [], next_cursor: null }],
      [`POST ${BASE}`]: () => [
        400,
        { error: { code: 'connection_discovery_failed', message: 'the discovery document names another issuer' } },
      ],
    });
    await empty();
    await type(labelled('Client ID'), 'g-id');
    await type(labelled('Client secret'), 's');
    await submit(document.querySelector('form'));
    await until(() => expect(alerts()).toHaveLength(1));
    expect(alerts()[0]).toContain('The server said: the discovery document names another issuer');
    expect(labelled('Issuer').getAttribute('aria-invalid')).toBe('true');
    expect(labelled('Client ID').value).toBe('g-id');
  });

  it('marks the field an invalid_request names, and explains a missing AUTHIO_SECRET_KEY', async () => {
    let answer: [number, unknown] = [
      400,
      { error: { code: 'invalid_request', message: 'client_id is too long', details: { field: 'client_id' } } },
    ];
    stubApi({ [`GET ${BASE}`]: () => [200, { data: [], next_cursor: null }], [`POST ${BASE}`]: () => answer });
    await empty();
    await click(radio('GitHub'));
    await type(labelled('Client ID'), 'x');
    await type(labelled('Client secret'), 's');
    await submit(document.querySelector('form'));
    await until(() => expect(alerts()).toEqual(['Check the client ID: client_id is too long']));
    expect(labelled('Client ID').getAttribute('aria-invalid')).toBe('true');

    answer = [503, { error: { code: 'encryption_key_missing', message: 'no key' } }];
    await submit(document.querySelector('form'));
    await until(() => expect(alerts()[0]).toContain('AUTHIO_SECRET_KEY (64 hex digits) is not set'));
    expect(labelled('Client ID').getAttribute('aria-invalid')).toBeNull();
  });

  it('deletes one after a confirmation', async () => {
    let listed = [connection(1), connection(2)];
    const seen = stubApi({
      [`GET ${BASE}`]: () => [200, { data: listed, next_cursor: null }],
      [`DELETE ${BASE}/conn_1`]: () => {
        listed = [connection(2)];
        return [204, undefined];
      },
    });
    render();
    await until(() => expect(rows()).toHaveLength(2));
    await click(button(/^Delete Google 1$/));
    await click(button(/^Confirm delete Google 1$/));
    await until(() => expect(rows()).toEqual([['conn_2', 'oidc']]));
    expect(seen.some((s) => s.method === 'DELETE' && s.path === `${BASE}/conn_1`)).toBe(true);
    expect(document.body.textContent).toContain('Deleted the connection Google 1.');
  });
});
