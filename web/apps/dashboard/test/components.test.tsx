import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { DashboardKeyCard } from '../src/components/DashboardKey';
import { PageSizeSelect, Pager } from '../src/components/Pager';
import { FIRST_PAGE, forward } from '../src/lib/paging';

const noop = () => undefined;

function pager(trail: ReadonlyArray<string | null>, next: string | null): string {
  return renderToStaticMarkup(
    <Pager
      label="Audit log pages"
      trail={trail}
      perPage={25}
      rows={25}
      nextCursor={next}
      onBack={noop}
      onForward={noop}
      backLabel="Newer"
      forwardLabel="Older"
    />,
  );
}

describe('the pager', () => {
  it('is absent when the list fits on one page', () => {
    expect(pager(FIRST_PAGE, null)).toBe('');
  });

  it('on the first page: Older only', () => {
    const html = pager(FIRST_PAGE, '40');
    expect(html).toContain('role="group" aria-label="Audit log pages"');
    expect(html).toMatch(/<button[^>]*disabled=""[^>]*>Newer<\/button>/);
    expect(html).toMatch(/<button type="button" class="secondary">Older<\/button>/);
    expect(html).toContain('Page 1 · rows 1–25');
  });

  it('on the last page: Newer only', () => {
    const html = pager(forward(FIRST_PAGE, '40'), null);
    expect(html).toMatch(/<button type="button" class="secondary">Newer<\/button>/);
    expect(html).toMatch(/<button[^>]*disabled=""[^>]*>Older<\/button>/);
    expect(html).toContain('Page 2 · rows 26–50');
  });

  it('offers the page sizes with a label, and keeps one from the URL that is not on the list', () => {
    const html = renderToStaticMarkup(<PageSizeSelect value={2} onChange={noop} />);
    const id = html.match(/<select id="([^"]+)"/)![1]!;
    expect(html).toContain(`<label for="${id}">Per page</label>`);
    expect([...html.matchAll(/<option value="(\d+)"/g)].map((m) => m[1])).toEqual(['2', '10', '25', '50', '100']);
  });
});

describe('the dashboard key step', () => {
  it('says what the key is for and what becomes of it, with one button', () => {
    const html = renderToStaticMarkup(
      <DashboardKeyCard heading="Connect to the user API" dashboardKey={{ project: null, create: async () => undefined, busy: false, error: null }}>
        Users are managed with a secret key of the tenant.
      </DashboardKeyCard>,
    );
    expect(html).toContain('<h2 id="key-heading">Connect to the user API</h2>');
    expect(html).toContain('Users are managed with a secret key of the tenant. The dashboard can create a test key');
    expect(html).toContain('signing out revokes it');
    expect(html).toMatch(/<button type="button">Create a dashboard key<\/button>/);
  });

  it('shows the key being made', () => {
    const html = renderToStaticMarkup(
      <DashboardKeyCard heading="h" dashboardKey={{ project: null, create: async () => undefined, busy: true, error: null }}>
        x
      </DashboardKeyCard>,
    );
    expect(html).toMatch(/<button type="button" disabled="">Creating the key…<\/button>/);
  });
});
