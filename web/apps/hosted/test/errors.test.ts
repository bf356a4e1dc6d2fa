import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/lib/api';
import { describeError, isStepUp, ssoRequiredRoute, stepUpReason } from '../src/lib/errors';

const api = (status: number, code: string, details?: Record<string, unknown>, retryAfter?: number) =>
  new ApiError(status, code, `server says ${code}`, { details, retryAfter });

describe('describeError', () => {
  it('names the refused return address', () => {
    const e = api(400, 'redirect_not_allowed', { field: 'redirect_url' });
    expect(describeError(e, { redirectUrl: 'https://evil.example.com/cb' })).toBe(
      'This app’s return address (https://evil.example.com/cb) is not allowed for this project. Its developers need to add it to the project’s redirect URLs.',
    );
    expect(describeError(e)).toMatch(/^The return address is not allowed/);
  });

  it('gives sentences for the sign-in codes, not the server’s developer message', () => {
    expect(describeError(api(401, 'invalid_token'))).toBe('This sign-in link was used already or has expired. Ask for a new one.');
    expect(describeError(api(403, 'not_a_member'))).toBe('You are not a member of that organization.');
    expect(describeError(api(0, 'passkey_cancelled'))).toMatch(/No passkey was used/);
    expect(describeError(api(401, 'passkey_invalid'))).toMatch(/not accepted/);
    expect(describeError(api(0, 'network_error'))).toMatch(/could not be reached/);
    expect(describeError(api(404, 'invitation_invalid'))).toMatch(/not valid/);
    expect(describeError(api(410, 'invitation_expired'))).toMatch(/expired/);
    expect(describeError(api(400, 'invalid_handoff'))).toMatch(/Start again from the app/);
    expect(describeError(api(403, 'sign_up_closed'))).toMatch(/by invitation only/);
  });

  it('says how long to wait when rate limited', () => {
    expect(describeError(api(429, 'rate_limited', undefined, 1))).toBe('Too many sign-in requests. Try again in 1 second.');
    expect(describeError(api(429, 'rate_limited', undefined, 42))).toBe('Too many sign-in requests. Try again in 42 seconds.');
    expect(describeError(api(429, 'rate_limited', undefined, 600))).toBe('Too many sign-in requests. Try again in 10 minutes.');
    expect(describeError(api(429, 'rate_limited'))).toBe('Too many sign-in requests. Try again later.');
  });

  it('invalid_request: by field', () => {
    expect(describeError(api(400, 'invalid_request', { field: 'email' }))).toBe('Enter a valid email address.');
    expect(describeError(api(400, 'invalid_request', { field: 'code_challenge' }))).toMatch(/code_challenge/);
    expect(describeError(api(400, 'invalid_request', { field: 'other' }))).toBe('server says invalid_request');
  });

  it('falls back to the server’s message, then to any error’s', () => {
    expect(describeError(api(409, 'something_new'))).toBe('server says something_new');
    expect(describeError(new Error('boom'))).toBe('boom');
    expect(describeError('plain')).toBe('plain');
  });
});

describe('step-up', () => {
  it('recognizes 403 step_up_required only', () => {
    expect(isStepUp(api(403, 'step_up_required'))).toBe(true);
    expect(isStepUp(api(403, 'not_a_member'))).toBe(false);
    expect(isStepUp(new Error('step_up_required'))).toBe(false);
  });

  it('says what the organization asks for', () => {
    expect(stepUpReason(api(403, 'step_up_required', { require_passkey: true, allowed_methods: null }))).toBe(
      'It asks for a passkey.',
    );
    expect(stepUpReason(api(403, 'step_up_required', { require_passkey: false, allowed_methods: ['passkey'] }))).toBe(
      'It asks for signing in by passkey.',
    );
    expect(
      stepUpReason(api(403, 'step_up_required', { require_passkey: true, max_session_age_seconds: 3600 })),
    ).toBe('It asks for a passkey and a sign-in in the last 1 hour.');
    expect(stepUpReason(api(403, 'step_up_required', { max_session_age_seconds: 900 }))).toBe(
      'It asks for a sign-in in the last 15 minutes.',
    );
    expect(stepUpReason(api(403, 'step_up_required'))).toBe('It asks for more than this sign-in has.');
  });
});

describe('sso_required', () => {
  it('names the route a magic link’s 403 points to, as required', () => {
    const e = api(403, 'sso_required', { organization_id: 'org_a', connection_id: 'conn_1' });
    expect(ssoRequiredRoute(e)).toEqual({ organization_id: 'org_a', connection_id: 'conn_1', required: true });
    expect(describeError(e)).toContain('single sign-on');
  });

  it('anything else, or one without a connection, is no route', () => {
    expect(ssoRequiredRoute(api(403, 'sso_required'))).toBeNull();
    expect(ssoRequiredRoute(api(403, 'forbidden', { connection_id: 'conn_1' }))).toBeNull();
    expect(ssoRequiredRoute(api(400, 'sso_required', { connection_id: 'conn_1' }))).toBeNull();
    expect(ssoRequiredRoute(new Error('sso_required'))).toBeNull();
  });
});
