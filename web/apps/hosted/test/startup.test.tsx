// @vitest-environment jsdom
import { act } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorBoundary } from '../src/components/ErrorBoundary';
import { takeMagicLinkToken } from '../src/lib/startup';
import { alerts, heading, mount, stubApi, until } from './dom';

const project = { id: 'proj_1', name: 'Acme Cloud', environment: 'test', mode: 'b2b' };
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const APP = encodeURIComponent('http://localhost:3000/callback');

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('takeMagicLinkToken', () => {
  it('takes the last token out of the address (replacing the entry, not adding one), keeping the rest and the hash', () => {
    history.replaceState({ k: 1 }, '', '/hosted/magic-link?pk=pk_test_1&token=ml_attacker&from=invitation&token=ml_1#top');
    const before = history.length;
    expect(takeMagicLinkToken()).toBe('ml_1');
    expect(location.pathname + location.search + location.hash).toBe('/hosted/magic-link?pk=pk_test_1&from=invitation#top');
    expect(history.length).toBe(before);
    expect(history.state).toEqual({ k: 1 });
  });

  it('leaves an address without a token alone', () => {
    history.replaceState(null, '', '/hosted/sign-in?pk=pk_test_1');
    const replace = vi.spyOn(history, 'replaceState');
    expect(takeMagicLinkToken()).toBeNull();
    expect(replace).not.toHaveBeenCalled();
  });

  it('an empty token is removed too, and is no token', () => {
    history.replaceState(null, '', '/hosted/magic-link?pk=pk_test_1&token=');
    expect(takeMagicLinkToken()).toBeNull();
    expect(location.search).toBe('?pk=pk_test_1');
  });
});

describe('startup (main.tsx): the token is gone before any request', () => {
  beforeEach(() => {
    vi.resetModules();
    document.body.innerHTML = '<div id="root"></div>';
  });

  const start = async () => {
    await act(async () => {
      await import('../src/main');
    });
  };

  it('a magic link: no request ever sees the token in the address; the verify call gets the last one', async () => {
    history.replaceState(
      null,
      '',
      `/hosted/magic-link?pk=pk_test_1&redirect_url=${APP}&code_challenge=${CHALLENGE}&token=ml_attacker&token=ml_1`,
    );
    const seen = stubApi({
      'GET /v1/auth/project': () => [200, project],
      'POST /v1/auth/magic-links/verify': () => [401, { error: { code: 'invalid_token', message: 'no' } }],
    });
    await start();
    await until(() => expect(heading()).toBe('The sign-in link did not work'));
    // (StrictMode asks for the project twice in development.)
    expect([...new Set(seen.map((s) => `${s.method} ${s.path}`))]).toEqual([
      'GET /v1/auth/project',
      'POST /v1/auth/magic-links/verify',
    ]);
    for (const s of seen) expect(s.href).not.toContain('token=');
    expect(seen.filter((s) => s.path === '/v1/auth/magic-links/verify').map((s) => s.body)).toEqual([{ token: 'ml_1' }]);
    expect(location.href).not.toContain('token=');
    expect(location.search).toContain('code_challenge=');
  });

  it('no pk: the token still leaves the address, and nothing is requested', async () => {
    history.replaceState(null, '', '/hosted/magic-link?token=ml_1');
    const seen = stubApi({});
    await start();
    await until(() => expect(heading()).toBe('This page cannot be used'));
    expect(seen).toEqual([]);
    expect(location.search).toBe('');
  });

  it('an unknown pk (the project request fails): the token is not left in the address', async () => {
    history.replaceState(null, '', '/hosted/magic-link?pk=pk_test_nope&token=ml_1');
    const seen = stubApi({ 'GET /v1/auth/project': () => [401, { error: { code: 'unauthenticated', message: 'no' } }] });
    await start();
    await until(() => expect(alerts()).toEqual(['This page’s project key (pk) is not valid.']));
    expect(seen[0]!.href).not.toContain('token=');
    expect(location.search).toBe('?pk=pk_test_nope');
  });

  it('the token is for /hosted/magic-link only: another page never verifies it', async () => {
    history.replaceState(null, '', '/hosted/sign-in?pk=pk_test_1&token=ml_1');
    const seen = stubApi({ 'GET /v1/auth/project': () => [200, project] });
    await start();
    await until(() => expect(heading()).toBe('Sign in to Acme Cloud'));
    expect(new Set(seen.map((s) => s.path))).toEqual(new Set(['/v1/auth/project']));
    expect(location.search).toBe('?pk=pk_test_1');
  });
});

describe('the error boundary', () => {
  it('shows a message instead of a blank page when rendering throws', () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    function Boom(): never {
      throw new Error('kaboom');
    }
    const m = mount(
      <ErrorBoundary>
        <Boom />
      </ErrorBoundary>,
    );
    expect(heading(m.el)).toBe('Something went wrong');
    expect(alerts(m.el)).toEqual(['This page ran into a problem and cannot go on.']);
    expect(m.el.querySelector('button')?.textContent).toBe('Reload the page');
    expect(m.el.textContent).not.toContain('kaboom');
    m.unmount();
  });

  it('renders its children when nothing fails', () => {
    const m = mount(
      <ErrorBoundary>
        <p>fine</p>
      </ErrorBoundary>,
    );
    expect(m.el.innerHTML).toBe('<p>fine</p>');
    m.unmount();
  });
});
