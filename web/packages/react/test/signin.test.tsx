import { renderHook, screen, waitFor } from '@testing-library/react';
import { StrictMode, type ReactNode } from 'react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { AuthioError, AuthioProvider, SignIn, describeError, useSession, useVerifyMagicLink } from '../src/index.js';
import { world } from './world.js';

const email = () => screen.getByRole('textbox', { name: 'Email address' });
const submit = () => screen.getByRole('button', { name: 'Email me a sign-in link' });

function Who() {
  const { user } = useSession();
  return <p data-testid="who">{user?.email ?? 'nobody'}</p>;
}

describe('SignIn', () => {
  it('is a named form with a labelled email field, a submit button and an empty status', () => {
    const w = world();
    w.renderApp(<SignIn />);
    expect(screen.getByRole('form', { name: 'Sign in' })).toBeTruthy();
    const input = email() as HTMLInputElement;
    expect(input.type).toBe('email');
    expect(input.autocomplete).toBe('email');
    expect(input.required).toBe(true);
    expect(screen.getByLabelText('Email address')).toBe(input);
    expect((submit() as HTMLButtonElement).type).toBe('submit');
    expect(screen.getByRole('status').textContent).toBe('');
    expect(screen.queryByRole('alert')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Sign in with a passkey' })).toBeNull();
  });

  it('submitting calls sendMagicLink with the email and redirect URL, then says so in a status', async () => {
    const w = world();
    const send = vi.spyOn(w.client, 'sendMagicLink');
    const onLinkSent = vi.fn();
    w.renderApp(<SignIn redirectUrl="http://localhost:3000/callback" onLinkSent={onLinkSent} />);
    const user = userEvent.setup();
    await user.type(email(), '  ada@example.com ');
    await user.click(submit());

    expect(send).toHaveBeenCalledWith('ada@example.com', { redirectUrl: 'http://localhost:3000/callback' });
    await waitFor(() => expect(screen.getByRole('status').textContent).toMatch(/^Check your inbox: a sign-in link is on its way to ada@example.com/));
    expect(onLinkSent).toHaveBeenCalledWith('ada@example.com');
    expect(w.server.calls('/v1/auth/magic-links')[0]!.body).toEqual({ email: 'ada@example.com', redirect_url: 'http://localhost:3000/callback' });
    expect(w.server.mail[0]!.url).toMatch(/^http:\/\/localhost:3000\/callback\?token=ml_/);
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('Enter in the field submits; a second submit while sending is ignored', async () => {
    const w = world();
    const send = vi.spyOn(w.client, 'sendMagicLink');
    w.renderApp(<SignIn />);
    const user = userEvent.setup();
    const gate = w.server.hold('/v1/auth/magic-links');
    await user.type(email(), 'ada@example.com{Enter}');
    expect(screen.getByRole('status').textContent).toBe('Sending your sign-in link…');
    expect(submit().getAttribute('aria-disabled')).toBe('true');
    await user.click(submit());
    expect(send).toHaveBeenCalledTimes(1);
    expect(send).toHaveBeenCalledWith('ada@example.com', {});
    gate.release();
    await waitFor(() => expect(screen.getByRole('status').textContent).toMatch(/^Check your inbox/));
    expect(submit().hasAttribute('aria-disabled')).toBe(false);
  });

  it('an empty or malformed email is an alert tied to the field, and nothing is sent', async () => {
    const w = world();
    const send = vi.spyOn(w.client, 'sendMagicLink');
    w.renderApp(<SignIn />);
    const user = userEvent.setup();
    await user.click(submit());
    expect(screen.getByRole('alert').textContent).toBe('Enter your email address.');
    expect(email().getAttribute('aria-invalid')).toBe('true');
    expect(email().getAttribute('aria-describedby')).toBe(screen.getByRole('alert').id);
    expect(screen.getByRole('textbox', { name: 'Email address', description: 'Enter your email address.' })).toBeTruthy();
    expect(document.activeElement).toBe(email());

    await user.type(email(), 'ada.example.com{Enter}');
    expect(screen.getByRole('alert').textContent).toBe('Enter an email address like name@example.com.');
    expect(send).not.toHaveBeenCalled();

    await user.clear(email());
    await user.type(email(), 'ada@example.com{Enter}');
    await waitFor(() => expect(screen.queryByRole('alert')).toBeNull());
    expect(email().hasAttribute('aria-invalid')).toBe(false);
    expect(send).toHaveBeenCalledTimes(1);
  });

  it("a failure is an alert chosen by the error's code", async () => {
    const w = world();
    vi.spyOn(w.client, 'sendMagicLink').mockRejectedValue(
      new AuthioError(429, 'rate_limited', 'slow down', { retryAfter: 30 }),
    );
    const onError = vi.fn();
    w.renderApp(<SignIn onError={onError} />);
    const user = userEvent.setup();
    await user.type(email(), 'ada@example.com{Enter}');
    expect((await screen.findByRole('alert')).textContent).toBe('Too many attempts. Try again in 30 seconds.');
    expect(screen.getByRole('status').textContent).toBe('');
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'rate_limited' }));
    // The field itself is fine: it is not marked invalid.
    expect(email().hasAttribute('aria-invalid')).toBe(false);
  });

  it('a network failure says so; formatError and labels replace the texts', async () => {
    const w = world();
    vi.spyOn(w.client, 'sendMagicLink').mockRejectedValue(new AuthioError(0, 'network_error', 'no answer'));
    w.renderApp(<SignIn labels={{ email: 'Work email', submit: 'Continue' }} formatError={(e) => `Oops: ${(e as AuthioError).code}`} />);
    const user = userEvent.setup();
    await user.type(screen.getByRole('textbox', { name: 'Work email' }), 'ada@example.com');
    await user.click(screen.getByRole('button', { name: 'Continue' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Oops: network_error');
  });

  it('the passkey button signs in, and the provider follows (signedIn)', async () => {
    const w = world();
    // The browser's WebAuthn prompt is out of reach here: stand in with a sign-in token.
    const passkey = vi
      .spyOn(w.client, 'signInWithPasskey')
      .mockImplementation(() => w.client.verifySignInToken(w.server.signInToken(w.ada)));
    const onSignedIn = vi.fn();
    w.renderApp(
      <>
        <SignIn passkey onSignedIn={onSignedIn} />
        <Who />
      </>,
    );
    expect(screen.getByTestId('who').textContent).toBe('nobody');
    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: 'Sign in with a passkey' }));
    expect(passkey).toHaveBeenCalledTimes(1);
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('You are signed in.'));
    expect(screen.getByTestId('who').textContent).toBe('ada@example.com');
    expect(onSignedIn).toHaveBeenCalledWith(expect.objectContaining({ user: { id: w.ada.id, email: w.ada.email } }));
  });

  it('a cancelled passkey prompt is an alert', async () => {
    const w = world();
    vi.spyOn(w.client, 'signInWithPasskey').mockRejectedValue(new AuthioError(0, 'passkey_cancelled', 'cancelled'));
    w.renderApp(<SignIn passkey />);
    await userEvent.setup().click(screen.getByRole('button', { name: 'Sign in with a passkey' }));
    expect((await screen.findByRole('alert')).textContent).toBe('No passkey was used.');
  });
});

describe('useVerifyMagicLink', () => {
  const strict = (w: ReturnType<typeof world>) =>
    function Wrapper({ children }: { children: ReactNode }) {
      return (
        <StrictMode>
          <AuthioProvider client={w.client}>{children}</AuthioProvider>
        </StrictMode>
      );
    };

  it("verifies the link's token once, also under StrictMode, and the provider follows", async () => {
    const w = world();
    await w.client.sendMagicLink(w.ada.email);
    const token = new URL(w.server.mail[0]!.url).searchParams.get('token');
    const { result } = renderHook(() => ({ verify: useVerifyMagicLink(token), session: useSession() }), { wrapper: strict(w) });
    expect(result.current.verify).toEqual({ isPending: true, answer: null, error: null });
    await waitFor(() => expect(result.current.verify.isPending).toBe(false));
    expect(result.current.verify.answer?.user.email).toBe('ada@example.com');
    expect(result.current.session.isSignedIn).toBe(true);
    expect(w.server.calls('/v1/auth/magic-links/verify')).toHaveLength(1);
  });

  it('a used or unknown token is an error; no token does nothing', async () => {
    const w = world();
    const { result, rerender } = renderHook(({ token }: { token: string | null }) => useVerifyMagicLink(token), {
      wrapper: strict(w),
      initialProps: { token: null as string | null },
    });
    expect(result.current).toEqual({ isPending: false, answer: null, error: null });
    rerender({ token: 'ml_nope' });
    await waitFor(() => expect(result.current.error).toMatchObject({ code: 'invalid_token' }));
    expect(describeError(result.current.error)).toBe('This sign-in link is invalid, expired or already used. Ask for a new one.');
    expect(w.server.calls('/v1/auth/magic-links/verify')).toHaveLength(1);
  });
});
