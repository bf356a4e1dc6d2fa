// One browser tab against the js package's fake Authio (test/fake-server.ts), through
// the real @authio/js client. The fake gives every role an empty permission list; the
// real server gives the role's permissions, so this tab's fetch adds them (from
// `permissions`, which a test may change), and can add pending memberships (invitations)
// to GET /v1/me.
import { createAuthio, type AuthioClient } from '@authio/js';
import { render, type RenderResult } from '@testing-library/react';
import type { ReactNode } from 'react';
import { BASE_URL, FakeAuthio, MemoryStorage, PUBLISHABLE_KEY } from '../../js/test/fake-server.js';
import { AuthioProvider, type AuthioProviderProps } from '../src/index.js';

export function world() {
  const server = new FakeAuthio();
  const storage = new MemoryStorage();
  const acme = server.addOrg('Acme');
  const globex = server.addOrg('Globex');
  const initech = server.addOrg('Initech');
  const ada = server.addUser('ada@example.com', [
    [acme, 'admin'],
    [globex, 'member'],
  ]);
  const permissions: Record<string, string[]> = {
    admin: ['billing:read', 'members:write', 'projects:read'],
    member: ['projects:read'],
  };
  const options = {
    /** Invitations: pending memberships GET /v1/me lists. */
    pending: [] as { id: string; name: string; slug: string }[],
    /** Leave permissions out of session answers (an older server): only GET /v1/me has them. */
    permissionsInTokens: true,
    /** Make GET /v1/me fail as if the network were down. */
    meOffline: false,
  };

  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const path = new URL(url).pathname;
    if (path === '/v1/me' && options.meOffline) throw new TypeError('Failed to fetch');
    const res = await server.fetch(url, init);
    if (!res.ok || !res.headers.get('content-type')?.includes('json')) return res;
    const body = (await res.json()) as Record<string, unknown>;
    const org = body.active_organization as { role: string; permissions?: string[] } | null | undefined;
    if (org) {
      if (path === '/v1/me' || options.permissionsInTokens) org.permissions = [...(permissions[org.role] ?? [])];
      else delete org.permissions;
    }
    if (path === '/v1/me') {
      const ms = body.memberships as unknown[];
      for (const o of options.pending) ms.push({ organization: o, role: 'member', status: 'pending' });
    }
    return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
  };

  /** A tab: a client of its own over the shared storage. */
  const tab = (): AuthioClient =>
    createAuthio({ baseUrl: BASE_URL, publishableKey: PUBLISHABLE_KEY, storage, fetch, locks: null, now: server.now });
  const client = tab();

  /** Signs the tab in by magic link (in the "no organization" context: Ada has two). */
  const signIn = async (c: AuthioClient = client) => {
    await c.sendMagicLink(ada.email);
    return c.verifyMagicLink(server.mail.at(-1)!.token);
  };
  /** Signed in and working in Acme, before anything renders. */
  const signInToAcme = async () => {
    await signIn();
    await client.switchOrganization(acme.id);
  };

  const renderApp = (ui: ReactNode, props: Partial<Omit<AuthioProviderProps, 'client' | 'options'>> = {}): RenderResult =>
    render(
      <AuthioProvider client={client} {...props}>
        {ui}
      </AuthioProvider>,
    );

  return { server, storage, acme, globex, initech, ada, permissions, options, client, tab, signIn, signInToAcme, renderApp };
}
