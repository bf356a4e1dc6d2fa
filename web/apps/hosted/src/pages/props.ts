import type { Project, SessionAnswer } from '../lib/api';
import type { Params } from '../lib/query';
import type { Tokens } from '../lib/tokens';

/** What every page gets from the app. */
export interface PageProps {
  pk: string;
  project: Project;
  params: Params;
  /** The page's query string as it was opened (`?…`). */
  search: string;
  /** The signed-in session's tokens (memory only), or null. */
  tokens: Tokens | null;
  /** Keep a sign-in's answer; `next` (a path and query of this app) replaces the address. */
  onSignedIn: (answer: SessionAnswer, next?: string) => void;
  /** End the session on the server (best effort) and forget its tokens. */
  onSignOut: () => void;
}
