/** What global-setup.ts hands the tests (HOSTED_SETUP, JSON). */
export interface HostedSetup {
  /** The hosted pages' origin as the browser sees it (http://localhost:<port>). */
  hosted: string;
  /** The API for node's own calls (http://127.0.0.1:<port>). */
  api: string;
  /** The test app's origin (http://127.0.0.1:<port>), another origin than `hosted`. */
  app: string;
  projectName: string;
  projectId: string;
  secretKey: string;
  publishableKey: string;
  consoleToken: string;
  mailDir: string;
  serverLog: string;
}
