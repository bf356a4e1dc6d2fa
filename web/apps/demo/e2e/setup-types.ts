/** What global-setup.ts hands the tests (as JSON in DEMO_SETUP). */
export interface FlowUser {
  id: string;
  email: string;
  /** Single-use, 10 minutes. */
  signInToken: string;
  acmeMembership: string;
  globexMembership: string;
}

export interface DemoSetup {
  /** The demo page's origin (`vite preview`, proxying /v1 to the server). */
  app: string;
  /** The Authio server itself. */
  api: string;
  secretKey: string;
  publishableKey: string;
  acme: { id: string; name: string };
  globex: { id: string; name: string };
  /** One user per flow, each a member of Acme (admin) and Globex (member). */
  users: Record<
    | 'twoOrgs'
    | 'deactivation'
    | 'switching'
    | 'noLocks'
    | 'withLocks'
    | 'lagged'
    | 'noJournal'
    | 'signOutRace'
    | 'signInRace'
    | 'signInRace2',
    FlowUser
  >;
  serverLog: string;
  /** The run's temporary directory (removed at the end unless KEEP_E2E_TMP is set). */
  tmp: string;
  /** The server's SQLite file (its event store is read, read-only, to count refreshes). */
  database: string;
}

/** One `POST /v1/sessions/refresh` through the page's proxy, with the server's answer. */
export interface RefreshRecord {
  status: number;
  /** The error's code, e.g. `not_a_member`, `refresh_token_reused`; `null` on success. */
  code: string | null;
  sessionId: string | null;
  /** The refreshed context's organization (`null` for none or on failure). */
  organizationId: string | null;
}
