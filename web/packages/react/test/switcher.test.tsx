import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { OrganizationSwitcher, useActiveOrganization } from '../src/index.js';
import { world } from './world.js';

const trigger = () => screen.getByRole('button', { name: /^Organization:/ });
const menu = () => screen.getByRole('menu', { name: 'Organizations' });
const item = (name: string) => screen.getByRole('menuitemradio', { name });
const current = () => screen.getAllByRole('menuitemradio').filter((el) => el.getAttribute('aria-current') === 'true');

function ActiveName() {
  const { organization } = useActiveOrganization();
  return <p data-testid="active">{organization?.name ?? 'none'}</p>;
}

/** Signed in and working in Acme, with GET /v1/me loaded (so the menu lists every membership). */
async function setUp(props: Parameters<typeof OrganizationSwitcher>[0] = {}, before?: (w: ReturnType<typeof world>) => void) {
  const w = world();
  before?.(w);
  await w.signInToAcme();
  w.renderApp(
    <>
      <OrganizationSwitcher {...props} />
      <ActiveName />
      <button type="button">after</button>
    </>,
  );
  await waitFor(() => expect(w.server.calls('/v1/me')).toHaveLength(1));
  await act(async () => {});
  return { w, user: userEvent.setup() };
}

describe('OrganizationSwitcher', () => {
  it("names the tab's organization and role on a menu button, closed at first", async () => {
    await setUp();
    const button = trigger();
    expect(button.textContent).toContain('Acme');
    expect(button.getAttribute('aria-haspopup')).toBe('menu');
    expect(button.getAttribute('aria-expanded')).toBe('false');
    expect(screen.getByRole('button', { name: 'Organization: Acme (admin)' })).toBe(button);
    expect(screen.queryByRole('menu')).toBeNull();
  });

  it('lists the organizations with their roles; the active one is aria-current and checked', async () => {
    const { user } = await setUp();
    await user.click(trigger());
    expect(trigger().getAttribute('aria-expanded')).toBe('true');
    expect(trigger().getAttribute('aria-controls')).toBe(menu().id);
    const items = within(menu()).getAllByRole('menuitemradio');
    expect(items.map((el) => el.textContent)).toEqual(['Acme (admin)', 'Globex (member)']);
    expect(current()).toEqual([item('Acme (admin)')]);
    expect(item('Acme (admin)').getAttribute('aria-checked')).toBe('true');
    expect(item('Globex (member)').getAttribute('aria-checked')).toBe('false');
    expect(item('Globex (member)').hasAttribute('aria-current')).toBe(false);
    // Opening focuses the active organization.
    expect(document.activeElement).toBe(item('Acme (admin)'));
  });

  it('choosing another organization switches the tab and moves aria-current', async () => {
    const onSwitched = vi.fn();
    const { w, user } = await setUp({ onSwitched });
    await user.click(trigger());
    await user.click(item('Globex (member)'));

    expect(screen.queryByRole('menu')).toBeNull();
    expect(document.activeElement).toBe(trigger());
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('Now working in Globex.'));
    expect(w.client.organizationId).toBe(w.globex.id);
    expect(screen.getByTestId('active').textContent).toBe('Globex');
    expect(trigger().textContent).toContain('Globex');
    expect(screen.getByRole('button', { name: 'Organization: Globex (member)' })).toBeTruthy();
    expect(onSwitched).toHaveBeenCalledWith(expect.objectContaining({ id: w.globex.id, name: 'Globex' }));

    await user.click(trigger());
    expect(current()).toEqual([item('Globex (member)')]);
    expect(item('Acme (admin)').getAttribute('aria-checked')).toBe('false');
  });

  it('is keyboard operable: arrows, Home/End, a letter, Enter, Escape, Tab', async () => {
    const { w, user } = await setUp();
    await user.tab();
    expect(document.activeElement).toBe(trigger());

    await user.keyboard('{Enter}');
    expect(document.activeElement).toBe(item('Acme (admin)'));
    await user.keyboard('{ArrowDown}');
    expect(document.activeElement).toBe(item('Globex (member)'));
    await user.keyboard('{ArrowDown}'); // wraps
    expect(document.activeElement).toBe(item('Acme (admin)'));
    await user.keyboard('{ArrowUp}'); // wraps back
    expect(document.activeElement).toBe(item('Globex (member)'));
    await user.keyboard('{Home}');
    expect(document.activeElement).toBe(item('Acme (admin)'));
    await user.keyboard('{End}');
    expect(document.activeElement).toBe(item('Globex (member)'));
    await user.keyboard('a'); // type-ahead
    expect(document.activeElement).toBe(item('Acme (admin)'));

    await user.keyboard('{Escape}');
    expect(screen.queryByRole('menu')).toBeNull();
    expect(document.activeElement).toBe(trigger());
    expect(w.server.calls('/v1/sessions/switch-org')).toHaveLength(1); // only the set-up's

    await user.keyboard('{ArrowUp}'); // opens at the last item
    expect(document.activeElement).toBe(item('Globex (member)'));
    await user.keyboard('{Enter}');
    expect(screen.queryByRole('menu')).toBeNull();
    expect(document.activeElement).toBe(trigger());
    await waitFor(() => expect(w.client.organizationId).toBe(w.globex.id));
    await waitFor(() => expect(trigger().textContent).toContain('Globex'));

    await user.keyboard('{ArrowDown}');
    expect(document.activeElement).toBe(item('Globex (member)'));
    await user.keyboard(' '); // Space chooses too: the active one, so nothing to do
    expect(screen.queryByRole('menu')).toBeNull();
    expect(w.server.calls('/v1/sessions/switch-org')).toHaveLength(2);

    await user.keyboard('{Enter}');
    expect(screen.getByRole('menu')).toBeTruthy();
    await user.tab(); // focus leaves: the menu closes
    expect(screen.queryByRole('menu')).toBeNull();
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'after' }));
  });

  it('a press outside closes the menu; the button toggles it', async () => {
    const { user } = await setUp();
    await user.click(trigger());
    expect(screen.getByRole('menu')).toBeTruthy();
    await user.click(document.body);
    expect(screen.queryByRole('menu')).toBeNull();
    await user.click(trigger());
    await user.click(trigger());
    expect(screen.queryByRole('menu')).toBeNull();
    expect(trigger().getAttribute('aria-expanded')).toBe('false');
    await user.click(trigger());
    await user.click(screen.getByRole('button', { name: 'after' }));
    expect(screen.queryByRole('menu')).toBeNull();
  });

  it('shows the switch in flight and a refused switch as an alert', async () => {
    const { w, user } = await setUp();
    w.server.deactivate(w.ada, w.globex); // between the page's load and Ada's choice
    const gate = w.server.hold('/v1/sessions/switch-org');
    await user.click(trigger());
    await user.click(item('Globex (member)'));
    expect(screen.getByRole('status').textContent).toBe('Switching to Globex…');
    expect(trigger().getAttribute('aria-busy')).toBe('true');
    gate.release();
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('You are not an active member of that organization.');
    expect(trigger().hasAttribute('aria-busy')).toBe(false);
    expect(screen.getByTestId('active').textContent).toBe('Acme');
  });

  it("follows contextDropped of the tab's organization: no organization is current", async () => {
    const { w, user } = await setUp();
    w.server.deactivate(w.ada, w.acme);
    w.server.advance(301_000);
    await act(() => w.client.getToken());
    expect(screen.getByRole('button', { name: 'Organization: Choose an organization' })).toBeTruthy();
    await waitFor(() => expect(w.server.calls('/v1/me')).toHaveLength(2));
    await user.click(trigger());
    // Acme's membership is inactive now: only Globex is offered, and it is not current.
    await waitFor(() => expect(within(menu()).getAllByRole('menuitemradio')).toHaveLength(1));
    expect(current()).toEqual([]);
    expect(document.activeElement).toBe(item('Globex (member)'));
    await user.keyboard('{Enter}');
    await waitFor(() => expect(trigger().textContent).toContain('Globex'));
  });

  it('badges the pending invitations that GET /v1/me lists', async () => {
    await setUp({}, (w) => (w.options.pending = [w.initech]));
    const button = screen.getByRole('button', { name: 'Organization: Acme (admin), 1 pending invitation' });
    expect(button.querySelector('.authio-badge')?.textContent).toContain('1');
  });

  it("badges the caller's invitations and opens them from the menu", async () => {
    const onShowInvitations = vi.fn();
    const { user } = await setUp({ pendingInvitations: [{ id: 'inv_1' }, { id: 'inv_2' }], onShowInvitations });
    await user.click(screen.getByRole('button', { name: 'Organization: Acme (admin), 2 pending invitations' }));
    await user.keyboard('{End}');
    const invitations = screen.getByRole('menuitem', { name: 'Pending invitations (2)' });
    expect(document.activeElement).toBe(invitations);
    await user.keyboard('{Enter}');
    expect(onShowInvitations).toHaveBeenCalledTimes(1);
    expect(screen.queryByRole('menu')).toBeNull();
  });

  it('a count of zero shows no badge', async () => {
    await setUp({ pendingInvitations: 0 }, (w) => (w.options.pending = [w.initech]));
    expect(screen.getByRole('button', { name: 'Organization: Acme (admin)' })).toBeTruthy();
  });
});
