import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { ModeCards } from '../src/components/ModeCards';
import { switchBlockedReason, type Mode } from '../src/lib/modes';

function render(from: Mode, organizations: number): string {
  return renderToStaticMarkup(
    <ModeCards
      legend="Mode"
      name="mode"
      value={from}
      current={from}
      onChange={() => undefined}
      blockedReason={(to) => switchBlockedReason(from, to, organizations)}
    />,
  );
}

function radio(html: string, mode: Mode): string {
  const m = html.match(new RegExp(`<input type="radio"[^>]*value="${mode}"[^>]*/?>`));
  if (!m) throw new Error(`no radio for ${mode}`);
  return m[0];
}

describe('mode cards', () => {
  it('label every radio with its title and describe it with its one line', () => {
    const html = render('flat', 0);
    for (const mode of ['b2b', 'flat', 'b2c'] as const) {
      const input = radio(html, mode);
      const id = input.match(/id="([^"]+)"/)![1]!;
      expect(html).toContain(`for="${id}"`);
      const describedBy = input.match(/aria-describedby="([^"]+)"/)![1]!;
      expect(html).toContain(`id="${describedBy.split(' ')[0]}"`);
    }
    expect(html).toContain('<legend>Mode</legend>');
  });

  it('disable flat and b2c in a b2b tenant with organizations, with the reason as a tooltip', () => {
    const html = render('b2b', 1);
    expect(radio(html, 'b2b')).not.toContain('disabled');
    for (const mode of ['flat', 'b2c'] as const) {
      const input = radio(html, mode);
      expect(input).toContain('disabled');
      const reasonId = input.match(/aria-describedby="[^"]* ([^"]+)"/)![1]!;
      expect(html).toMatch(new RegExp(`role="tooltip" id="${reasonId}">Delete the 1 organization first<`));
    }
  });

  it('enable every mode in a b2b tenant without organizations', () => {
    const html = render('b2b', 0);
    for (const mode of ['b2b', 'flat', 'b2c'] as const) expect(radio(html, mode)).not.toContain('disabled');
    expect(html).not.toContain('role="tooltip"');
  });

  it('mark the current mode', () => {
    const html = render('b2c', 0);
    expect(radio(html, 'b2c')).toContain('checked');
    expect(html).toMatch(/B2C<span class="badge">current<\/span>/);
  });
});
