// Rendering into jsdom for the components' behaviour (files that use it start with
// `// @vitest-environment jsdom`): React's act, a stubbed fetch routed by method and
// path, and a wait for what the page shows next.
import { act, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { vi } from 'vitest';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export interface Mounted {
  el: HTMLElement;
  root: Root;
  rerender(node: ReactNode): void;
  unmount(): void;
}

export function mount(node: ReactNode): Mounted {
  const el = document.createElement('div');
  document.body.appendChild(el);
  const root = createRoot(el);
  act(() => root.render(node));
  return {
    el,
    root,
    rerender: (n) => act(() => root.render(n)),
    unmount: () => {
      act(() => root.unmount());
      el.remove();
    },
  };
}

/** Let pending promises and React's updates settle. */
export async function settle(times = 3): Promise<void> {
  for (let i = 0; i < times; i++) {
    await act(async () => {
      await new Promise((r) => setTimeout(r, 0));
    });
  }
}

/** Wait (settling React) until `check` stops throwing. */
export async function until<T>(check: () => T, timeoutMs = 2000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return check();
    } catch (e) {
      if (Date.now() > end) throw e;
      await settle(1);
    }
  }
}

export async function click(el: Element | null | undefined): Promise<void> {
  if (!el) throw new Error('nothing to click');
  await act(async () => {
    (el as HTMLElement).click();
  });
}

export function heading(el: ParentNode = document): string | null {
  return el.querySelector('h1')?.textContent ?? null;
}

export function button(name: string | RegExp, el: ParentNode = document): HTMLButtonElement {
  const all = [...el.querySelectorAll('button')];
  const b = all.find((x) => (typeof name === 'string' ? x.textContent === name : name.test(x.textContent ?? '')));
  if (!b) throw new Error(`no button ${String(name)} among: ${all.map((x) => x.textContent).join(' | ')}`);
  return b;
}

export function alerts(el: ParentNode = document): string[] {
  return [...el.querySelectorAll('[role="alert"]')].map((a) => a.textContent ?? '');
}

/** A route's answer: [status, body], a thrown error (no answer: network_error), or a promise of either. */
export type Answer = [number, unknown] | Error;
export type Route = (body: unknown) => Answer | Promise<Answer>;

export interface Seen {
  method: string;
  /** The URL as called (query included). */
  url: string;
  path: string;
  body: unknown;
  /** The Authorization header, when one was sent. */
  authorization: string | undefined;
  /** The page's address when the call was made. */
  href: string;
}

/** Stub fetch: `routes` by "METHOD /path" (path without the query); an unknown route fails the test's call with 599. */
export function stubApi(routes: Record<string, Route>): Seen[] {
  const seen: Seen[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET';
    const path = url.split('?')[0]!;
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined;
    const authorization = (init.headers as Record<string, string> | undefined)?.authorization;
    seen.push({ method, url, path, body, authorization, href: window.location.href });
    const route = routes[`${method} ${path}`];
    const answer: Answer = route ? await route(body) : [599, { error: { code: 'unrouted', message: `${method} ${path}` } }];
    if (answer instanceof Error) throw answer;
    const [status, json] = answer;
    return new Response(json === undefined ? null : JSON.stringify(json), {
      status,
      headers: { 'content-type': 'application/json' },
    });
  });
  return seen;
}

/** A promise and its resolver, to hold a request open. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export { sessionAnswer } from './answers';
