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
  /** A real upstream OpenID Connect provider (scripts/sso/idp.mjs, node oidc-provider) and one of its clients. */
  idp: { issuer: string; clientId: string; clientSecret: string; log: string };
  /** The DNS stub's control (scripts/dns-stub.py: POST /txt {name, value}), the server's AUTHIO_DNS_RESOLVER. */
  dnsControl: string;
  /**
   * An organization that verified acme.example (through the DNS stub), connected `idp`
   * (jit_role member) and admits only SSO (policy allowed_methods ["sso"]).
   */
  ssoOrganization: { id: string; name: string };
}
