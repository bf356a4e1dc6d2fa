// Rendering into jsdom for the pages' behaviour (files that use it start with
// `// @vitest-environment jsdom`; jsdom comes from the workspace, the hosted app's dev
// dependency): the hosted app's helpers (React's act, a stubbed fetch routed by method
// and path, a wait), plus typing into fields, finding a control by its label and
// submitting a form.
import { act } from 'react';

export * from '../../hosted/test/dom';

/** Type into an input or a textarea as a person would (React hears the change). */
export async function type(el: Element | null | undefined, value: string): Promise<void> {
  if (!el) throw new Error('nothing to type into');
  const input = el as HTMLInputElement | HTMLTextAreaElement;
  const proto = input instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  await act(async () => {
    Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(input, value);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

/** The control a label names (by its text, exactly or by pattern). */
export function labelled(text: string | RegExp, el: ParentNode = document): HTMLInputElement {
  const labels = [...el.querySelectorAll('label')];
  const l = labels.find((x) => (typeof text === 'string' ? x.textContent === text : text.test(x.textContent ?? '')));
  if (!l) throw new Error(`no label ${String(text)} among: ${labels.map((x) => x.textContent).join(' | ')}`);
  const c = l.htmlFor ? document.getElementById(l.htmlFor) : l.querySelector('input, select, textarea');
  if (!c) throw new Error(`label ${String(text)} names no control`);
  return c as HTMLInputElement;
}

/** Submit a form (its submit event, as the Enter key or its button would). */
export async function submit(form: Element | null | undefined): Promise<void> {
  if (!form) throw new Error('no form');
  await act(async () => {
    (form as HTMLFormElement).requestSubmit();
  });
}
