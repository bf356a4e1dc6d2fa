// One organization context's tokens, in memory only (never in storage): the access
// token is refreshed with the refresh token when it has under 30 s left, once at a time.
import { userApi, type SessionAnswer } from './api';

const MIN_VALIDITY_MS = 30_000;

export type Refresh = (refreshToken: string) => Promise<SessionAnswer>;

export class Tokens {
  private answer: SessionAnswer;
  private expiresAt: number;
  private inflight: Promise<string> | null = null;

  constructor(
    answer: SessionAnswer,
    private readonly now: () => number = Date.now,
    private readonly refresh: Refresh = userApi.refresh,
  ) {
    this.answer = answer;
    this.expiresAt = now() + answer.expires_in * 1000;
  }

  /** The answer that made this context (its memberships stay those of the first answer). */
  get session(): SessionAnswer {
    return this.answer;
  }

  /** A valid access token for this context. */
  async accessToken(): Promise<string> {
    if (this.expiresAt - this.now() > MIN_VALIDITY_MS) return this.answer.access_token;
    this.inflight ??= this.refresh(this.answer.refresh_token)
      .then((next) => {
        this.answer = { ...next, memberships: next.memberships ?? this.answer.memberships };
        this.expiresAt = this.now() + next.expires_in * 1000;
        return next.access_token;
      })
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }
}
