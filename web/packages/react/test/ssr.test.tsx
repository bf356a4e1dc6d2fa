import { act } from '@testing-library/react';
import { hydrateRoot } from 'react-dom/client';
import { renderToString } from 'react-dom/server';
import { describe, expect, it, vi } from 'vitest';
import { AuthioProvider, SignedIn, SignedOut, useSession } from '../src/index.js';
import { world } from './world.js';

function Loaded() {
  const { isLoaded } = useSession();
  return <i>{isLoaded ? 'loaded' : 'loading'}</i>;
}

describe('server rendering', () => {
  it('renders as not known yet on the server, then hydrates without a mismatch into the real state', async () => {
    const w = world();
    await w.signInToAcme();
    const app = (
      <AuthioProvider client={w.client}>
        <Loaded />
        <SignedIn>in</SignedIn>
        <SignedOut>out</SignedOut>
      </AuthioProvider>
    );
    const html = renderToString(app);
    expect(html).toBe('<i>loading</i>');

    const errors = vi.spyOn(console, 'error');
    const container = document.createElement('div');
    container.innerHTML = html;
    document.body.append(container);
    let root: ReturnType<typeof hydrateRoot> | undefined;
    await act(async () => {
      root = hydrateRoot(container, app, { onRecoverableError: (e) => console.error(e) });
    });
    expect(container.innerHTML).toBe('<i>loaded</i>in');
    expect(errors).not.toHaveBeenCalled();
    act(() => root!.unmount());
    container.remove();
  });
});
