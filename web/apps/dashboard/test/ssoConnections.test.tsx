// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, projectApi, type Connection, type Organization, type OrganizationDomain } from '../src/lib/api';
import { OrganizationView } from '../src/pages/OrganizationDetail';
import {
  DomainRule,
  SAML_HOWTO,
  SsoConnections,
  connectionFailure,
  protocolOf,
  samlRegistration,
  ssoCallbackUrl,
} from '../src/pages/SsoConnections';
import {
  alerts,
  button,
  click,
  deferred,
  heading,
  labelled,
  mount,
  stubApi,
  submit,
  type,
  until,
  type Mounted,
} from './dom';

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
  m = mount(<SsoConnections project={projectApi(SECRET)} organizationId={ORG} />);
  return m;
}

const rows = () => [...document.querySelectorAll('tbody tr[data-connection-id]')].map((r) => r.getAttribute('data-connection-id'));

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

// ---------------------------------------------------------------------------- SAML 2.0

const API = 'https://auth.example.com';
const METADATA = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example/entity">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">…</md:IDPSSODescriptor>
</md:EntityDescriptor>`;

function samlConnection(n: number, over: Partial<Connection> = {}): Connection {
  return connection(n, {
    name: `Entra ${n}`,
    protocol: 'saml',
    issuer: `https://idp${n}.example/entity`,
    client_id: `${API}/v1/auth/saml/conn_${n}`,
    saml: { acs_url: `${API}/v1/auth/saml/acs`, metadata_url: `${API}/v1/auth/saml/conn_${n}/metadata` },
    ...over,
  });
}

function domain(name: string, state: OrganizationDomain['state']): OrganizationDomain {
  return {
    id: `dom_${name.replace(/\W/g, '')}`,
    organization_id: ORG,
    domain: name,
    state,
    verification: { type: 'TXT', name: `_authio-challenge.${name}`, value: `authio-verify=${name.length}abc` },
    auto_join: false,
    role: null,
    verified_at: state === 'verified' ? '2026-12-01T10:00:00Z' : null,
    created_at: '2026-12-01T10:00:00Z',
    updated_at: '2026-12-01T10:00:00Z',
  };
}

const radio = (name: string) => labelled(name);
const emptyList = { [`GET ${BASE}`]: () => [200, { data: [], next_cursor: null }] as [number, unknown] };

/** Pick a file in a file input as a person would (its `change` event). */
async function pick(input: HTMLInputElement, file: File) {
  const { act } = await import('react');
  await act(async () => {
    Object.defineProperty(input, 'files', { value: [file], configurable: true });
    input.dispatchEvent(new Event('change', { bubbles: true }));
  });
}

async function chooseSaml() {
  await until(() => expect(document.body.textContent).toContain('No SSO connections yet.'));
  await click(radio('SAML 2.0'));
  await until(() => expect(radio('SAML 2.0').checked).toBe(true));
}

describe('the API client: SAML connections and domains', () => {
  it('posts a SAML connection (protocol, metadata_xml) and reads protocol and saml back', async () => {
    const seen = stubApi({
      [`POST ${BASE}`]: () => [201, samlConnection(7)],
      [`GET ${BASE}`]: () => [200, { data: [connection(1), samlConnection(7)], next_cursor: null }],
    });
    const api = projectApi(SECRET);
    const created = await api.createConnection(ORG, { name: 'Entra 7', protocol: 'saml', metadata_xml: METADATA });
    expect(seen[0]).toMatchObject({
      method: 'POST',
      path: BASE,
      authorization: `Bearer ${SECRET}`,
      body: { name: 'Entra 7', protocol: 'saml', metadata_xml: METADATA },
    });
    expect(created.protocol).toBe('saml');
    expect(samlRegistration(created)).toEqual({
      entityId: `${API}/v1/auth/saml/conn_7`,
      acsUrl: `${API}/v1/auth/saml/acs`,
      metadataUrl: `${API}/v1/auth/saml/conn_7/metadata`,
    });
    const page = await api.connections(ORG);
    expect(page.data.map(protocolOf)).toEqual(['oidc', 'saml']);
    expect(samlRegistration(page.data[0]!)).toBeNull();
  });

  it('reads an organization\'s domains (the first 100)', async () => {
    const seen = stubApi({
      [`GET /v1/organizations/${ORG}/domains`]: () => [200, { data: [domain('acme.com', 'verified')], next_cursor: null }],
    });
    const page = await projectApi(SECRET).domains(ORG);
    expect(seen[0]!.url).toBe(`/v1/organizations/${ORG}/domains?limit=100`);
    expect(page.data[0]!.state).toBe('verified');
  });

  it('carries the SAML error codes and the field of an invalid_request', async () => {
    stubApi({
      [`POST ${BASE}`]: (body) =>
        (body as { protocol?: string }).protocol === 'saml'
          ? [400, { error: { code: 'invalid_saml_metadata', message: "the identity provider's metadata: no entityID" } }]
          : [400, { error: { code: 'invalid_request', message: 'metadata_xml is for a SAML connection', details: { field: 'metadata_xml' } } }],
    });
    const api = projectApi(SECRET);
    const saml = await api
      .createConnection(ORG, { name: 'x', protocol: 'saml', metadata_xml: '<x/>' })
      .catch((e: unknown) => e);
    expect(saml).toBeInstanceOf(ApiError);
    expect(saml).toMatchObject({ status: 400, code: 'invalid_saml_metadata', message: "the identity provider's metadata: no entityID" });
    const oidc = await api
      .createConnection(ORG, { name: 'x', issuer: 'https://i', client_id: 'c', client_secret: 's' })
      .catch((e: unknown) => e);
    expect(oidc).toMatchObject({ code: 'invalid_request', field: 'metadata_xml' });
  });

  it('takes a connection without protocol (a server from before SAML) as OpenID Connect', () => {
    const old = { ...connection(1) } as Partial<Connection>;
    delete old.protocol;
    delete old.saml;
    expect(protocolOf(old as Connection)).toBe('oidc');
    expect(samlRegistration(old as Connection)).toBeNull();
  });
});

describe('what a failed SAML call tells people', () => {
  it('shows the server\'s reason for refused metadata, on the metadata field', () => {
    const f = connectionFailure(new ApiError(400, 'invalid_saml_metadata', "the identity provider's metadata: no IDPSSODescriptor (is it an identity provider's?)."))!;
    expect(f.field).toBe('metadata_xml');
    expect(f.message).toContain("The server said: the identity provider's metadata: no IDPSSODescriptor (is it an identity provider's?). Paste");
  });

  it('explains a server built without SAML (501 saml_unavailable)', () => {
    const f = connectionFailure(new ApiError(501, 'saml_unavailable', 'this build of Authio has no SAML support'))!;
    expect(f.field).toBeNull();
    expect(f.message).toMatch(/built without SAML support/);
    expect(f.message).toContain('--features saml');
  });

  it('names the metadata field of an invalid_request', () => {
    expect(connectionFailure(new ApiError(400, 'invalid_request', 'metadata_xml (the identity provider\'s metadata) is required', 'metadata_xml'))).toEqual({
      field: 'metadata_xml',
      message: "Check the metadata: metadata_xml (the identity provider's metadata) is required",
    });
  });
});

describe('adding a SAML connection', () => {
  it('offers both protocols, OpenID Connect first; SAML swaps the OpenID fields for the metadata', async () => {
    stubApi(emptyList);
    render();
    await until(() => expect(document.body.textContent).toContain('No SSO connections yet.'));
    expect(radio('OpenID Connect').checked).toBe(true);
    expect(radio('SAML 2.0').checked).toBe(false);
    await type(labelled('Issuer'), 'https://acme.okta.com');
    await click(radio('SAML 2.0'));
    expect(() => labelled('Issuer')).toThrow();
    expect(() => labelled('Client secret')).toThrow();
    expect(labelled('Identity provider metadata (XML)').tagName).toBe('TEXTAREA');
    const file = labelled('Or read it from a file');
    expect(file.type).toBe('file');
    expect(file.accept).toContain('.xml');
    expect(labelled('Role for new members (optional)')).toBeTruthy();
    // Back to OpenID Connect: what was typed there is still there.
    await click(radio('OpenID Connect'));
    expect(labelled('Issuer').value).toBe('https://acme.okta.com');
    expect(() => labelled('Identity provider metadata (XML)')).toThrow();
  });

  it('sends name, protocol and metadata (no OpenID field), then shows what to register at the provider', async () => {
    let listed: Connection[] = [];
    const seen = stubApi({
      [`GET ${BASE}`]: () => [200, { data: listed, next_cursor: null }],
      [`POST ${BASE}`]: () => {
        listed = [samlConnection(9, { name: 'Acme SAML', jit_role: 'member' })];
        return [201, listed[0]];
      },
    });
    render();
    await chooseSaml();
    await type(labelled('Name'), ' Acme SAML ');
    await type(labelled('Identity provider metadata (XML)'), `\n  ${METADATA}\n`);
    await type(labelled('Role for new members (optional)'), 'member');
    await submit(document.querySelector('form'));
    await until(() => expect(rows()).toEqual(['conn_9']));
    expect(seen.find((s) => s.method === 'POST')!.body).toEqual({
      name: 'Acme SAML',
      protocol: 'saml',
      metadata_xml: METADATA,
      jit_role: 'member',
    });
    expect(document.body.textContent).toContain('Added the connection Acme SAML (conn_9).');
    // The next step, focused: the three values to copy and where they go.
    const card = document.querySelector('section[data-created-connection="conn_9"]')!;
    const h = card.querySelector('h3')!;
    expect(h.textContent).toBe('Register Authio at the identity provider of Acme SAML');
    expect(document.activeElement).toBe(h);
    expect(card.textContent).toContain(SAML_HOWTO);
    expect(labelled('Entity ID (audience)', card).value).toBe(`${API}/v1/auth/saml/conn_9`);
    expect(labelled('ACS URL (HTTP-POST)', card).value).toBe(`${API}/v1/auth/saml/acs`);
    expect(labelled('Metadata URL', card).value).toBe(`${API}/v1/auth/saml/conn_9/metadata`);
    expect(button(/^Copy the metadata URL of Acme SAML$/, card)).toBeTruthy();
    // The form is empty again and stays on SAML.
    expect(labelled('Identity provider metadata (XML)').value).toBe('');
    expect(labelled('Name').value).toBe('');
    // The list: protocol, the provider's entity id, Authio's, and the same values to copy.
    const row = document.querySelector('tr[data-connection-id="conn_9"]')!;
    expect(row.getAttribute('data-protocol')).toBe('saml');
    expect(row.textContent).toContain('SAML 2.0');
    expect(row.textContent).toContain('https://idp9.example/entity');
    expect(row.textContent).toContain(`${API}/v1/auth/saml/conn_9`);
    const detail = document.querySelector('tr[data-saml-of="conn_9"]')!;
    expect(labelled('ACS URL (HTTP-POST)', detail).value).toBe(`${API}/v1/auth/saml/acs`);
    expect(labelled('Metadata URL', detail).value).toBe(`${API}/v1/auth/saml/conn_9/metadata`);
    await click(button('Done', card));
    expect(document.querySelector('section[data-created-connection]')).toBeNull();
  });

  it('copies a value to the clipboard', async () => {
    stubApi({ [`GET ${BASE}`]: () => [200, { data: [samlConnection(3)], next_cursor: null }] });
    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    render();
    await until(() => expect(rows()).toEqual(['conn_3']));
    await click(button(/^Copy the ACS URL of Entra 3$/));
    expect(writeText).toHaveBeenCalledWith(`${API}/v1/auth/saml/acs`);
  });

  it('lists OpenID and SAML connections side by side, the SAML one with its values', async () => {
    stubApi({ [`GET ${BASE}`]: () => [200, { data: [connection(1), samlConnection(2)], next_cursor: null }] });
    render();
    await until(() => expect(rows()).toEqual(['conn_1', 'conn_2']));
    const [oidc, saml] = [...document.querySelectorAll('tbody tr[data-connection-id]')];
    expect(oidc!.textContent).toContain('OpenID Connect');
    expect(oidc!.textContent).toContain('client ID');
    expect(saml!.textContent).toContain('SAML 2.0');
    expect(document.querySelector('tr[data-saml-of="conn_1"]')).toBeNull();
    expect(document.querySelector('tr[data-saml-of="conn_2"]')!.textContent).toContain(SAML_HOWTO);
  });

  it('checks name and metadata before calling', async () => {
    const seen = stubApi({ ...emptyList, [`POST ${BASE}`]: () => [201, samlConnection(1)] });
    render();
    await chooseSaml();
    await submit(document.querySelector('form'));
    expect(alerts()).toEqual(['Give the connection a name.']);
    await type(labelled('Name'), 'Acme');
    await type(labelled('Identity provider metadata (XML)'), '   ');
    await submit(document.querySelector('form'));
    expect(alerts()).toEqual(["Paste the identity provider's metadata XML, or read it from a file."]);
    expect(labelled('Identity provider metadata (XML)').getAttribute('aria-invalid')).toBe('true');
    await type(labelled('Identity provider metadata (XML)'), `<md:EntityDescriptor>${'x'.repeat(256 * 1024)}</md:EntityDescriptor>`);
    await submit(document.querySelector('form'));
    expect(alerts()[0]).toMatch(/larger than 256 KB/);
    expect(seen.filter((s) => s.method === 'POST')).toHaveLength(0);
  });

  it('fills the metadata from a picked file', async () => {
    stubApi(emptyList);
    render();
    await chooseSaml();
    await pick(labelled('Or read it from a file'), new File([METADATA], 'idp-metadata.xml', { type: 'application/xml' }));
    await until(() => expect(labelled('Identity provider metadata (XML)').value).toBe(METADATA));
    expect(document.body.textContent).toContain('Read idp-metadata.xml into the metadata field.');
  });

  it('refuses a file too large to be metadata, without reading it', async () => {
    stubApi(emptyList);
    render();
    await chooseSaml();
    await pick(labelled('Or read it from a file'), new File(['x'.repeat(256 * 1024 + 1)], 'dump.xml'));
    await until(() => expect(alerts()).toEqual(['dump.xml is larger than 256 KB: that is not one identity provider\'s metadata.']));
    expect(labelled('Identity provider metadata (XML)').value).toBe('');
  });

  it('shows the server\'s reason for refused metadata (400 invalid_saml_metadata) and keeps what was pasted', async () => {
    stubApi({
      ...emptyList,
      [`POST ${BASE}`]: () => [
        400,
        { error: { code: 'invalid_saml_metadata', message: "the identity provider's metadata: no signing certificate (KeyDescriptor with X509Certificate)" } },
      ],
    });
    render();
    await chooseSaml();
    await type(labelled('Name'), 'Acme');
    await type(labelled('Identity provider metadata (XML)'), METADATA);
    await submit(document.querySelector('form'));
    await until(() => expect(alerts()).toHaveLength(1));
    expect(alerts()[0]).toContain(
      "The server said: the identity provider's metadata: no signing certificate (KeyDescriptor with X509Certificate).",
    );
    expect(labelled('Identity provider metadata (XML)').getAttribute('aria-invalid')).toBe('true');
    expect(labelled('Identity provider metadata (XML)').value).toBe(METADATA);
    expect(document.querySelector('section[data-created-connection]')).toBeNull();
  });

  it('explains a server built without SAML (501 saml_unavailable)', async () => {
    stubApi({
      ...emptyList,
      [`POST ${BASE}`]: () => [501, { error: { code: 'saml_unavailable', message: 'this build of Authio has no SAML support' } }],
    });
    render();
    await chooseSaml();
    await type(labelled('Name'), 'Acme');
    await type(labelled('Identity provider metadata (XML)'), METADATA);
    await submit(document.querySelector('form'));
    await until(() => expect(alerts()).toHaveLength(1));
    expect(alerts()[0]).toMatch(/^This Authio server was built without SAML support/);
    expect(alerts()[0]).toContain('--features saml');
  });

  it('disables the button while the call is out', async () => {
    const held = deferred<[number, unknown]>();
    stubApi({ ...emptyList, [`POST ${BASE}`]: () => held.promise });
    render();
    await chooseSaml();
    await type(labelled('Name'), 'Acme');
    await type(labelled('Identity provider metadata (XML)'), METADATA);
    await submit(document.querySelector('form'));
    await until(() => expect(button('Adding…').disabled).toBe(true));
    held.resolve([201, samlConnection(4)]);
    await until(() => expect(button('Add connection').disabled).toBe(false));
  });
});

describe('the verified-domain rule in the connection form', () => {
  const DOMAINS = `GET /v1/organizations/${ORG}/domains`;

  it('names the verified domains', async () => {
    stubApi({
      ...emptyList,
      [DOMAINS]: () => [200, { data: [domain('acme.com', 'verified'), domain('acme.io', 'verified')], next_cursor: null }],
    });
    render();
    await until(() => expect(document.getElementById('connection-domain-rule')!.textContent).toContain('Verified: acme.com, acme.io.'));
    const rule = document.getElementById('connection-domain-rule')!;
    expect(rule.textContent).toContain('signs in only addresses in a domain this organization has verified');
    expect(rule.className).not.toContain('notice');
    expect(rule.textContent).not.toContain('To verify a domain');
    expect(document.querySelector('form')!.getAttribute('aria-describedby')).toBe('connection-domain-rule');
  });

  it('warns when none is verified, with the TXT record a pending one waits for and how to verify', async () => {
    stubApi({ ...emptyList, [DOMAINS]: () => [200, { data: [domain('acme.com', 'pending')], next_cursor: null }] });
    render();
    await until(() => expect(document.getElementById('connection-domain-rule')!.className).toContain('notice'));
    const rule = document.getElementById('connection-domain-rule')!.textContent!;
    expect(rule).toContain('No domain of this organization is verified yet, so no one can sign in through its connections.');
    expect(rule).toContain('acme.com is not verified yet: publish the TXT record _authio-challenge.acme.com with the value authio-verify=8abc');
    expect(rule).toContain(`POST /v1/organizations/${ORG}/domains/<domain_id>/verify`);
  });

  it('still tells the rule when the domains cannot be read', () => {
    m = mount(<DomainRule organizationId={ORG} domains={null} />);
    const rule = document.getElementById('connection-domain-rule')!;
    expect(rule.textContent).toContain('has verified');
    expect(rule.textContent).toContain(`POST /v1/organizations/${ORG}/domains`);
    expect(rule.className).not.toContain('notice');
  });

  it('says which domain is no longer verified', () => {
    m = mount(<DomainRule organizationId={ORG} domains={[domain('acme.com', 'verified'), domain('old.acme.com', 'failed')]} />);
    const rule = document.getElementById('connection-domain-rule')!.textContent!;
    expect(rule).toContain('Verified: acme.com.');
    expect(rule).toContain('old.acme.com is no longer verified');
  });
});
