/**
 * An error answered by the Authio API (`{"error": {"code", "message", "details"?}}`),
 * or raised by the client itself for a request that could not be made.
 *
 * Client-side codes: `network_error` (status 0: the request did not get an answer),
 * `unauthenticated` (status 401: no usable session in this browser), `invalid_response`
 * (the answer was not the JSON expected), `http_<status>` (an error answer without the
 * API's error body, for example from a proxy), `passkey_cancelled` (status 0: the
 * browser gave no credential).
 */
export class AuthioError extends Error {
  override readonly name = 'AuthioError';
  /** The HTTP status; 0 when there was no answer. */
  readonly status: number;
  /** The API's stable snake_case code, e.g. `not_a_member`. Match on this, not on `message`. */
  readonly code: string;
  /** `details` of the API's error body, when it has one (e.g. `{ field: "email" }`). */
  readonly details: unknown;
  /** The answer's `x-request-id`, to quote when reporting a problem. */
  readonly requestId: string | undefined;
  /** Seconds from `Retry-After` (429 and 503 answers). */
  readonly retryAfter: number | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    extra: { details?: unknown; requestId?: string | undefined; retryAfter?: number | undefined; cause?: unknown } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = extra.details;
    this.requestId = extra.requestId;
    this.retryAfter = extra.retryAfter;
    if (extra.cause !== undefined) (this as { cause?: unknown }).cause = extra.cause;
  }
}

/** Whether `e` is an AuthioError with this code. */
export function isAuthioError(e: unknown, code?: string): e is AuthioError {
  return e instanceof AuthioError && (code === undefined || e.code === code);
}
