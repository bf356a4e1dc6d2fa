// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, projectApi, type Connection, type Organization } from '../src/lib/api';
import { OrganizationView } from '../src/pages/OrganizationDetail';
import { SsoConnections, connectionFailure, ssoCallbackUrl } from '../src/pages/SsoConnections';
import { alerts, button, click, heading, labelled, mount, stubApi, submit, type, until, type Mounted } from './dom';

const SECRET = 'sk_test_dashboard';
const ORG = 'org_1';
const BASE = `/v1/organizations/${ORG}/connections`;

function connection(n: number, over: Partial<Connection> = {}): Connection {
  return {
    id: `conn_${n}`,
    organization_id: ORG,
    name: `Okta ${n}`,
    issuer: `https://idp${n}.example.com`,
    client_id: `client-${n}`,
    jit_role: null,
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
  m = mount(<SsoConnections project={projectApi(SECRET)} organizationId={ORG} />);
  return m;
}

const rows = () => [...document.querySelectorAll('tbody tr')].map((r) => r.getAttribute('data-connection-id'));

async function fill(over: Partial<Record<string, string>> = {}) {
  await type(labelled('Name'), over.name ?? 'Acme Okta');
  await type(labelled('Issuer'), over.issuer ?? 'https://acme.okta.com');
  await type(labelled('Client ID'), over.client_id ?? 'authio-client');
  await type(labelled('Client secret'), over.client_secret ?? 's3cret');
  if (over.jit_role !== undefined) await type(labelled('Role for new members (optional)'), over.jit_role);
}

describe('what a failed connection call tells people', () => {
  it('explains the codes of the SSO routes', () => {
    expect(connectionFailure(new ApiError(503, 'encryption_key_missing', 'x'))).toEqual({
      field: null,
      message: expect.stringContaining('AUTHIO_SECRET_KEY (64 hex digits) is not set'),
    });
    const discovery = connectionFailure(new ApiError(400, 'connection_discovery_failed', 'issuer mismatch'))!;
    expect(discovery.field).toBe('issuer');
    expect(discovery.message).toContain('.well-known/openid-configuration');
    expect(discovery.message).toContain('The server said: issuer mismatch');
    expect(connectionFailure(new ApiError(400, 'unknown_role', 'x', 'role'))!.field).toBe('jit_role');
    expect(connectionFailure(new ApiError(401, 'unauthorized', 'x'))).toBeNull();
    expect(connectionFailure(new ApiError(0, 'network_error', 'The server could not be reached.'))).toEqual({
      field: null,
      message: 'The server could not be reached.',
    });
  });

  it('gives the redirect URI to register at the provider', () => {
    expect(ssoCallbackUrl('https://auth.example.com')).toBe('https://auth.example.com/v1/auth/sso/callback');
  });
});

describe('an organization\'s SSO connections', () => {
  it('lists them with the secret key, and shows the redirect URI to register', async () => {
    const seen = stubApi({
      [`GET ${BASE}`]: () => [200, { data: [connection(1), connection(2, { jit_role: 'member' })], next_cursor: null }],
    });
    render();
    await until(() => expect(rows()).toEqual(['conn_1', 'conn_2']));
    expect(seen[0]!.authorization).toBe(`Bearer ${SECRET}`);
    expect(labelled('Redirect URI to register at the identity provider').value).toBe(
      `${window.location.origin}/v1/auth/sso/callback`,
    );
    expect(document.body.textContent).toContain('https://idp1.example.com');
    expect(document.body.textContent).toContain('none (refused)');
    expect(document.querySelector('tr[data-connection-id="conn_2"]')!.textContent).toContain('member');
  });

  it('adds one (the secret is sent, never shown), then lists it', async () => {
    let listed: Connection[] = [];
    const seen = stubApi({
      [`GET ${BASE}`]: () => [200, { data: listed, next_cursor: null }],
      [`POST ${BASE}`]: () => {
        listed = [connection(5, { name: 'Acme Okta', jit_role: 'member' })];
        return [201, listed[0]];
      },
    });
    render();
    await until(() => expect(document.body.textContent).toContain('No SSO connections yet.'));
    expect(labelled('Client secret').type).toBe('password');
    await fill({ jit_role: ' member ' });
    await submit(document.querySelector('form'));
    await until(() => expect(rows()).toEqual(['conn_5']));
    expect(seen.find((s) => s.method === 'POST')!.body).toEqual({
      name: 'Acme Okta',
      issuer: 'https://acme.okta.com',
      client_id: 'authio-client',
      client_secret: 's3cret',
      jit_role: 'member',
    });
    expect(document.body.textContent).toContain('Added the connection Acme Okta (conn_5).');
    expect(labelled('Client secret').value).toBe('');
    expect(document.body.textContent).not.toContain('s3cret');
  });

  it('leaves out an empty role, and checks the form before calling', async () => {
    const seen = stubApi({
      [`GET ${BASE}`]: () => [200, { data: [], next_cursor: null }],
      [`POST ${BASE}`]: () => [201, connection(6)],
    });
    render();
    await until(() => expect(document.body.textContent).toContain('No SSO connections yet.'));
    await type(labelled('Name'), 'Acme');
    await submit(document.querySelector('form'));
    expect(alerts()).toEqual(["Give the identity provider's issuer URL."]);
    expect(labelled('Issuer').getAttribute('aria-invalid')).toBe('true');
    expect(seen.filter((s) => s.method === 'POST')).toHaveLength(0);
    await fill();
    await submit(document.querySelector('form'));
    await until(() => expect(seen.filter((s) => s.method === 'POST')).toHaveLength(1));
    expect(seen.find((s) => s.method === 'POST')!.body).not.toHaveProperty('jit_role');
  });

  it('says the server has no AUTHIO_SECRET_KEY (503 encryption_key_missing)', async () => {
    stubApi({
      [`GET ${BASE}`]: () => [200, { data: [], next_cursor: null }],
      [`POST ${BASE}`]: () => [503, { error: { code: 'encryption_key_missing', message: 'SSO connections need …' } }],
    });
    render();
    await until(() => expect(document.body.textContent).toContain('No SSO connections yet.'));
    await fill();
    await submit(document.querySelector('form'));
    await until(() => expect(alerts()).toHaveLength(1));
    expect(alerts()[0]).toBe(
      'The server cannot store SSO connections: AUTHIO_SECRET_KEY (64 hex digits) is not set on it. Set it, restart the server and try again.',
    );
    // What was typed stays, to try again once the server is fixed.
    expect(labelled('Issuer').value).toBe('https://acme.okta.com');
  });

  it('explains a discovery document that could not be used, on the issuer field', async () => {
    stubApi({
      [`GET ${BASE}`]: () => [200, { data: [], next_cursor: null }],
      [`POST ${BASE}`]: () => [
        400,
        {
          error: {
            code: 'connection_discovery_failed',
            message: "the identity provider's discovery document could not be used: issuer mismatch",
          },
        },
      ],
    });
    render();
    await until(() => expect(document.body.textContent).toContain('No SSO connections yet.'));
    await fill({ issuer: 'https://wrong.example.com' });
    await submit(document.querySelector('form'));
    await until(() => expect(alerts()[0]).toMatch(/discovery document .* could not be used: check the issuer/));
    expect(alerts()[0]).toContain('issuer mismatch');
    expect(labelled('Issuer').getAttribute('aria-invalid')).toBe('true');
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
    await until(() => expect(rows()).toEqual(['conn_1', 'conn_2']));
    await click(button('Delete Okta 1'));
    expect(seen.some((s) => s.method === 'DELETE')).toBe(false);
    await click(button('Confirm delete Okta 1'));
    await until(() => expect(rows()).toEqual(['conn_2']));
    expect(document.body.textContent).toContain('Deleted the connection Okta 1.');
  });

  it('shows a failed list', async () => {
    stubApi({ [`GET ${BASE}`]: () => [403, { error: { code: 'organizations_disabled', message: 'Organizations are off.' } }] });
    render();
    await until(() => expect(alerts()).toEqual(['Organizations are off.']));
  });
});

describe('an organization\'s page', () => {
  const org: Organization = { id: ORG, name: 'Acme', slug: 'acme', domains: ['acme.com'], created_at: '2026-12-01T10:00:00Z' };

  it('shows the organization and its SSO connections', async () => {
    stubApi({
      [`GET /v1/organizations/${ORG}`]: () => [200, org],
      [`GET ${BASE}`]: () => [200, { data: [connection(1)], next_cursor: null }],
    });
    m = mount(<OrganizationView project={projectApi(SECRET)} id={ORG} />);
    await until(() => expect(heading()).toBe('Acme'));
    await until(() => expect(rows()).toEqual(['conn_1']));
    expect(document.querySelector('h2#sso-heading')!.textContent).toBe('SSO connections');
    expect(document.body.textContent).toContain('acme.com');
  });

  it('says when there is no such organization', async () => {
    stubApi({ [`GET /v1/organizations/${ORG}`]: () => [404, { error: { code: 'not_found', message: 'Not found.' } }] });
    m = mount(<OrganizationView project={projectApi(SECRET)} id={ORG} />);
    await until(() => expect(heading()).toBe('Organization not found'));
  });
});
