// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { projectApi, type OAuthClient } from '../src/lib/api';
import { ClientsView, discoveryUrl, parseRedirectUris } from '../src/pages/OAuthClients';
import { alerts, button, click, labelled, mount, stubApi, submit, type, until, type Mounted } from './dom';

const SECRET = 'sk_test_dashboard';

function client(n: number, over: Partial<OAuthClient> = {}): OAuthClient {
  return {
    id: `oc_${n}`,
    name: `App ${n}`,
    client_type: 'confidential',
    redirect_uris: [`https://app${n}.example.com/callback`],
    scopes: ['openid', 'email', 'profile', 'offline_access', 'organization'],
    backchannel_logout_uri: null,
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
  m = mount(<ClientsView project={projectApi(SECRET)} />);
  return m;
}

const rows = () => [...document.querySelectorAll('tbody tr')].map((r) => r.getAttribute('data-client-id'));

describe('the OAuth clients helpers', () => {
  it('read redirect URIs one per line, blank lines and spaces dropped', () => {
    expect(parseRedirectUris(' https://a.example/cb \n\n\r\ncom.example.app:/callback\n  ')).toEqual([
      'https://a.example/cb',
      'com.example.app:/callback',
    ]);
    expect(parseRedirectUris('')).toEqual([]);
  });

  it('name the discovery document', () => {
    expect(discoveryUrl('https://auth.example.com')).toBe('https://auth.example.com/.well-known/openid-configuration');
  });
});

describe('the OAuth clients page', () => {
  it('lists the clients with the secret key, in pages', async () => {
    const seen = stubApi({
      'GET /v1/oauth-clients': () => [200, { data: [client(1), client(2, { client_type: 'public' })], next_cursor: 'cur_2' }],
    });
    render();
    await until(() => expect(rows()).toEqual(['oc_1', 'oc_2']));
    expect(seen[0]!.url).toBe('/v1/oauth-clients?limit=25');
    expect(seen[0]!.authorization).toBe(`Bearer ${SECRET}`);
    expect(document.body.textContent).toContain('https://app1.example.com/callback');
    expect(document.body.textContent).toContain('Public (PKCE)');
    // Rotation is for confidential clients only.
    const [first, second] = [...document.querySelectorAll('tbody tr')];
    expect(button(/^Rotate secret/, first!).textContent).toBe('Rotate secret App 1');
    expect(() => button(/^Rotate secret/, second!)).toThrow();

    stubApi({ 'GET /v1/oauth-clients': () => [200, { data: [client(3)], next_cursor: null }] });
    await click(button('Next page'));
    await until(() => expect(rows()).toEqual(['oc_3']));
    expect(document.body.textContent).toContain('Page 2 · rows 26–26');
  });

  it('registers a confidential client and shows its secret once', async () => {
    let listed: OAuthClient[] = [];
    const seen = stubApi({
      'GET /v1/oauth-clients': () => [200, { data: listed, next_cursor: null }],
      'POST /v1/oauth-clients': (body) => {
        listed = [client(7, { name: 'Billing' })];
        return [201, { ...listed[0], ...(body as object), id: 'oc_7', client_secret: 'ocs_once' }];
      },
    });
    render();
    await until(() => expect(document.body.textContent).toContain('No OAuth clients yet.'));
    await type(labelled('Name'), '  Billing ');
    await type(labelled('Redirect URIs (one per line)'), 'https://billing.example.com/cb\n\nhttp://localhost:3000/cb\n');
    await click(labelled('profile'));
    expect(labelled('openid (always)').checked).toBe(true);
    expect(labelled('openid (always)').disabled).toBe(true);
    await type(labelled('Back-channel logout URI (optional)'), 'https://billing.example.com/logout');
    await submit(document.querySelector('form'));

    await until(() => expect(labelled('Client secret').value).toBe('ocs_once'));
    const post = seen.find((s) => s.method === 'POST')!;
    expect(post.body).toEqual({
      name: 'Billing',
      client_type: 'confidential',
      redirect_uris: ['https://billing.example.com/cb', 'http://localhost:3000/cb'],
      scopes: ['openid', 'email', 'offline_access', 'organization'],
      backchannel_logout_uri: 'https://billing.example.com/logout',
    });
    expect(document.body.textContent).toContain('Copy the client secret of Billing now');
    expect(document.body.textContent).toContain('This is the only time the secret is shown.');
    expect(document.body.textContent).toContain('oc_7');
    await until(() => expect(rows()).toEqual(['oc_7']));
    // The form is empty again; "I have copied it" drops the secret from the page.
    expect(labelled('Name').value).toBe('');
    await click(button('I have copied it'));
    expect(document.body.textContent).not.toContain('ocs_once');
    expect(document.querySelector('input[value="ocs_once"]')).toBeNull();
  });

  it('copies the secret to the clipboard', async () => {
    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    stubApi({
      'GET /v1/oauth-clients': () => [200, { data: [], next_cursor: null }],
      'POST /v1/oauth-clients': () => [201, { ...client(8), client_secret: 'ocs_copy' }],
    });
    render();
    await type(labelled('Name'), 'Copy');
    await type(labelled('Redirect URIs (one per line)'), 'https://c.example.com/cb');
    await submit(document.querySelector('form'));
    await until(() => button('Copy secret'));
    await click(button('Copy secret'));
    expect(writeText).toHaveBeenCalledWith('ocs_copy');
    await until(() => expect(document.body.textContent).toContain('Copied to the clipboard.'));
  });

  it('registers a public client: no secret, a status line', async () => {
    const seen = stubApi({
      'GET /v1/oauth-clients': () => [200, { data: [], next_cursor: null }],
      'POST /v1/oauth-clients': () => [201, { ...client(9, { name: 'SPA', client_type: 'public' }), client_secret: null }],
    });
    render();
    await type(labelled('Name'), 'SPA');
    await click(labelled('Public'));
    await type(labelled('Redirect URIs (one per line)'), 'https://spa.example.com/cb');
    await submit(document.querySelector('form'));
    await until(() => expect(document.body.textContent).toContain('Registered SPA (public client oc_9)'));
    expect((seen.find((s) => s.method === 'POST')!.body as { client_type: string }).client_type).toBe('public');
    expect(() => labelled('Client secret')).toThrow();
  });

  it('checks the form before calling, and explains the server refusing a field', async () => {
    const seen = stubApi({
      'GET /v1/oauth-clients': () => [200, { data: [], next_cursor: null }],
      'POST /v1/oauth-clients': () => [
        400,
        { error: { code: 'validation_failed', message: 'redirect_uris: bad', details: { field: 'redirect_uris' } } },
      ],
    });
    render();
    await submit(document.querySelector('form'));
    expect(alerts()).toEqual(['Give the client a name.']);
    expect(labelled('Name').getAttribute('aria-invalid')).toBe('true');
    await type(labelled('Name'), 'Bad');
    await submit(document.querySelector('form'));
    expect(alerts()).toEqual(['Give at least one redirect URI, one per line.']);
    expect(seen.filter((s) => s.method === 'POST')).toHaveLength(0);

    await type(labelled('Redirect URIs (one per line)'), 'https://x.example.com/cb#frag');
    await submit(document.querySelector('form'));
    await until(() => expect(alerts()[0]).toMatch(/^Redirect URIs: 1 to 20, no repeats/));
    expect(labelled('Redirect URIs (one per line)').getAttribute('aria-invalid')).toBe('true');
    // Nothing was registered: no secret shown, the typed values kept.
    expect(labelled('Name').value).toBe('Bad');
  });

  it('shows a failed list', async () => {
    stubApi({ 'GET /v1/oauth-clients': () => [500, { error: { code: 'internal', message: 'Something broke.' } }] });
    render();
    await until(() => expect(alerts()).toEqual(['Something broke.']));
  });

  it('rotates a confidential client\'s secret after a confirmation and shows the new one once', async () => {
    const seen = stubApi({
      'GET /v1/oauth-clients': () => [200, { data: [client(1)], next_cursor: null }],
      'POST /v1/oauth-clients/oc_1/rotate-secret': () => [200, { client_secret: 'ocs_new' }],
    });
    render();
    await until(() => expect(rows()).toEqual(['oc_1']));
    await click(button('Rotate secret App 1'));
    expect(seen.some((s) => s.method === 'POST')).toBe(false);
    await click(button('Confirm rotate secret App 1'));
    await until(() => expect(labelled('Client secret').value).toBe('ocs_new'));
    expect(document.body.textContent).toContain('Copy the new client secret of App 1 now');
    expect(document.body.textContent).toContain('The previous secret stopped working.');
    expect(seen.filter((s) => s.method === 'POST').map((s) => s.path)).toEqual(['/v1/oauth-clients/oc_1/rotate-secret']);
    // The row's button starts over: another rotation needs another confirmation.
    expect(button('Rotate secret App 1')).toBeTruthy();
    expect(() => button('Confirm rotate secret App 1')).toThrow();
  });

  it('deletes a client after a confirmation, and shows a refusal in its row', async () => {
    let listed = [client(1), client(2)];
    const seen = stubApi({
      'GET /v1/oauth-clients': () => [200, { data: listed, next_cursor: null }],
      'DELETE /v1/oauth-clients/oc_1': () => {
        listed = [client(2)];
        return [204, undefined];
      },
      'DELETE /v1/oauth-clients/oc_2': () => [404, { error: { code: 'not_found', message: 'Not found.' } }],
    });
    render();
    await until(() => expect(rows()).toEqual(['oc_1', 'oc_2']));
    await click(button('Delete App 1'));
    await click(button('Cancel'));
    expect(seen.some((s) => s.method === 'DELETE')).toBe(false);
    await click(button('Delete App 1'));
    await click(button('Confirm delete App 1'));
    await until(() => expect(rows()).toEqual(['oc_2']));
    expect(document.body.textContent).toContain('Deleted App 1.');

    await click(button('Delete App 2'));
    await click(button('Confirm delete App 2'));
    await until(() => expect(alerts()).toEqual(['Not found.']));
    expect(rows()).toEqual(['oc_2']);
  });
});
