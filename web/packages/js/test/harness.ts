import { createAuthio, type AuthioClient, type AuthioEvents, type AuthioOptions } from '../src/index.js';
import { BASE_URL, FakeAuthio, FakeLocks, MemoryStorage, PUBLISHABLE_KEY } from './fake-server.js';

/** One browser: a fake server, and the storage and locks its tabs share. */
export function browser(options: { webLocks?: boolean } = {}) {
  const server = new FakeAuthio();
  const storage = new MemoryStorage();
  const locks = new FakeLocks();
  const acme = server.addOrg('Acme');
  const globex = server.addOrg('Globex');
  const ada = server.addUser('ada@example.com', [
    [acme, 'admin'],
    [globex, 'member'],
  ]);
  /** A new tab: a client instance of its own over the shared storage and locks. */
  const tab = (overrides: Partial<AuthioOptions> = {}): AuthioClient =>
    createAuthio({
      baseUrl: BASE_URL,
      publishableKey: PUBLISHABLE_KEY,
      storage,
      fetch: server.fetch,
      locks: options.webLocks === false ? null : locks,
      now: server.now,
      ...overrides,
    });
  const ctxKey = (organizationId: string | null) => `authio:${PUBLISHABLE_KEY}:ctx:${organizationId ?? 'none'}`;
  return { server, storage, locks, acme, globex, ada, tab, ctxKey };
}

/** Signs `client` in as `email` by magic link, the way a page would. */
export async function signIn(client: AuthioClient, server: FakeAuthio, email = 'ada@example.com') {
  await client.sendMagicLink(email, { redirectUrl: 'http://localhost:3000/callback' });
  const url = new URL(server.mail.at(-1)!.url);
  return client.verifyMagicLink(url.searchParams.get('token')!);
}

/** Everything `client` emits, in order. */
export function record(client: AuthioClient) {
  const events: { [E in keyof AuthioEvents]: AuthioEvents[E][] } = {
    signedIn: [],
    tokenRefreshed: [],
    contextDropped: [],
    signedOut: [],
  };
  for (const name of Object.keys(events) as (keyof AuthioEvents)[]) {
    client.on(name, (e) => (events[name] as unknown[]).push(e));
  }
  return events;
}
