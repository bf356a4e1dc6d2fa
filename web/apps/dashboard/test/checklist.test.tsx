import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { Checklist, checklistProgress } from '../src/components/Checklist';
import type { ChecklistItem } from '../src/lib/api';

// What GET /v1/session/home answers for each mode (api/src/routes/console.rs).
const B2B: ChecklistItem[] = [
  { id: 'create_organization', title: 'Create an organization', done: false },
  { id: 'set_up_sso', title: 'Set up SSO', done: false },
];
const FLAT: ChecklistItem[] = [{ id: 'invite_first_user', title: 'Invite the first user', done: false }];
const B2C: ChecklistItem[] = [
  { id: 'add_social_provider', title: 'Add a social provider', done: false },
  { id: 'customize_branding', title: 'Customize branding', done: false },
];

function items(html: string): Array<{ id: string; done: string; text: string }> {
  return [...html.matchAll(/<li data-item="([^"]+)" data-done="(true|false)">(.*?)<\/li>/g)].map((m) => ({
    id: m[1]!,
    done: m[2]!,
    text: m[3]!.replace(/<[^>]+>/g, ''),
  }));
}

describe('the home checklist', () => {
  it('renders the items in the order and words the API gives, for each mode', () => {
    for (const list of [B2B, FLAT, B2C]) {
      const html = renderToStaticMarkup(<Checklist items={list} />);
      expect(items(html).map((i) => i.id)).toEqual(list.map((i) => i.id));
      for (const item of list) expect(html).toContain(item.title);
    }
  });

  it('marks done items for the eye and for screen readers', () => {
    const html = renderToStaticMarkup(<Checklist items={[{ ...B2B[0]!, done: true }, B2B[1]!]} />);
    const [org, sso] = items(html);
    expect(org).toMatchObject({ id: 'create_organization', done: 'true' });
    expect(org!.text).toContain('(done)');
    expect(sso).toMatchObject({ id: 'set_up_sso', done: 'false' });
    expect(sso!.text).toContain('(to do)');
    expect(html).toContain('1 of 2 done');
  });

  it('links an open item to the page that does it, and only then', () => {
    const open = renderToStaticMarkup(<Checklist items={B2B} />);
    expect(open).toContain('href="#/organizations"');
    const done = renderToStaticMarkup(<Checklist items={[{ ...B2B[0]!, done: true }]} />);
    expect(done).not.toContain('href="#/organizations"');
    expect(renderToStaticMarkup(<Checklist items={FLAT} />)).not.toContain('<a ');
  });

  it('asks for a first tenant when none is selected', () => {
    const html = renderToStaticMarkup(
      <Checklist items={[{ id: 'create_tenant', title: 'Create a project', done: false }]} />,
    );
    expect(html).toContain('href="#/tenants/new"');
  });

  it('counts progress', () => {
    expect(checklistProgress([])).toBe('0 of 0 done');
    expect(checklistProgress(B2C)).toBe('0 of 2 done');
    expect(checklistProgress(B2C.map((i) => ({ ...i, done: true })))).toBe('2 of 2 done');
  });
});
