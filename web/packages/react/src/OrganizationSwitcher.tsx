import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import {
  useActiveOrganization,
  useOrganizations,
  useSwitchOrganization,
  type OrganizationMembership,
} from './hooks.js';
import { describeError } from './messages.js';

export interface OrganizationSwitcherProps {
  /**
   * Pending invitations to show as a badge: a count or a list (its length counts).
   * Default: the user's `pending` memberships from GET /v1/me.
   */
  pendingInvitations?: number | readonly unknown[] | undefined;
  /** When given, the menu ends with a "Pending invitations" item that calls it. */
  onShowInvitations?: (() => void) | undefined;
  /** After a successful switch. */
  onSwitched?: ((organization: OrganizationMembership) => void) | undefined;
  /** The menu's accessible name. Default: "Organizations". */
  label?: string | undefined;
  /** Shown on the button while the tab has no organization. */
  placeholder?: string | undefined;
  formatError?: ((error: Error) => string) | undefined;
  className?: string | undefined;
}

type Item = { kind: 'org'; org: OrganizationMembership } | { kind: 'invitations' };

/**
 * A menu button listing the user's organizations with their roles; the tab's one is
 * checked and `aria-current`. Keyboard: Enter, Space or ArrowDown opens it (ArrowUp
 * opens it at the end); ArrowUp/ArrowDown/Home/End and a letter move between items;
 * Enter or Space chooses; Escape closes and gives focus back to the button; Tab closes.
 */
export function OrganizationSwitcher(props: OrganizationSwitcherProps) {
  const { organization: active } = useActiveOrganization();
  const { organizations, invitations } = useOrganizations();
  const { switchOrganization, pendingOrganizationId, error } = useSwitchOrganization();
  const format = props.formatError ?? describeError;
  const label = props.label ?? 'Organizations';
  const id = useId();
  const buttonId = `${id}-button`;
  const menuId = `${id}-menu`;

  const [open, setOpen] = useState(false);
  const [focus, setFocus] = useState(0);
  const [switched, setSwitched] = useState<string | null>(null);
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const items = useRef<(HTMLLIElement | null)[]>([]);

  const given = props.pendingInvitations;
  const count = given === undefined ? invitations.length : typeof given === 'number' ? given : given.length;
  const list: Item[] = organizations.map((org) => ({ kind: 'org', org }));
  if (props.onShowInvitations && count > 0) list.push({ kind: 'invitations' });
  const pendingName = organizations.find((o) => o.id === pendingOrganizationId)?.name ?? pendingOrganizationId;

  useEffect(() => {
    if (open) items.current[focus]?.focus();
  }, [open, focus]);

  useEffect(() => {
    if (!open) return;
    // A press outside closes the menu (also where a click gives no focus, as Safari's).
    const outside = (e: Event) => {
      if (!root.current?.contains(e.target as Node | null)) setOpen(false);
    };
    document.addEventListener('pointerdown', outside);
    return () => document.removeEventListener('pointerdown', outside);
  }, [open]);

  const openAt = (where: 'active' | 'last') => {
    const activeIndex = list.findIndex((i) => i.kind === 'org' && i.org.isActive);
    const index = where === 'last' ? list.length - 1 : where === 'active' && activeIndex >= 0 ? activeIndex : 0;
    setFocus(Math.max(index, 0));
    setOpen(true);
  };

  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) button.current?.focus();
  };

  const choose = async (item: Item | undefined) => {
    if (!item) return;
    close(true);
    if (item.kind === 'invitations') {
      props.onShowInvitations?.();
      return;
    }
    if (item.org.isActive || pendingOrganizationId !== null) return;
    setSwitched(null);
    const answer = await switchOrganization(item.org.id);
    if (answer) {
      setSwitched(item.org.name);
      props.onSwitched?.(item.org);
    }
  };

  const onButtonKey = (e: KeyboardEvent<HTMLButtonElement>) => {
    if (e.key === 'ArrowDown' || e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      openAt('active');
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      openAt('last');
    }
  };

  const onMenuKey = (e: KeyboardEvent<HTMLUListElement>) => {
    const n = list.length;
    if (n === 0 && e.key !== 'Escape' && e.key !== 'Tab') return;
    switch (e.key) {
      case 'ArrowDown':
        setFocus((f) => (f + 1) % n);
        break;
      case 'ArrowUp':
        setFocus((f) => (f - 1 + n) % n);
        break;
      case 'Home':
        setFocus(0);
        break;
      case 'End':
        setFocus(n - 1);
        break;
      case 'Enter':
      case ' ':
        void choose(list[focus]);
        break;
      case 'Escape':
        e.stopPropagation(); // a dialog around the switcher stays open
        close(true);
        break;
      case 'Tab':
        // Close, and let Tab move on from the button (the items are about to go);
        // Shift+Tab lands on the button itself.
        close(true);
        if (e.shiftKey) break;
        return;
      default: {
        if (e.key.length !== 1 || e.altKey || e.ctrlKey || e.metaKey) return;
        // Type-ahead: the next item whose name starts with that letter.
        const ch = e.key.toLowerCase();
        for (let step = 1; step <= n; step++) {
          const i = (focus + step) % n;
          if (nameOf(list[i]!, count).toLowerCase().startsWith(ch)) {
            setFocus(i);
            break;
          }
        }
      }
    }
    e.preventDefault();
  };

  // The button's name says what it is for, then what it shows (its visible text included).
  const shown = active ? `${active.name} (${active.role})` : (props.placeholder ?? 'Choose an organization');
  const invited = count === 0 ? '' : count === 1 ? ', 1 pending invitation' : `, ${count} pending invitations`;

  return (
    <div
      ref={root}
      className={props.className ?? 'authio-org-switcher'}
      onBlur={(e) => {
        // Focus moving elsewhere closes the menu (a blur to nowhere is left to the press handler).
        if (open && e.relatedTarget && !root.current?.contains(e.relatedTarget as Node)) setOpen(false);
      }}
    >
      <button
        ref={button}
        id={buttonId}
        type="button"
        aria-label={`Organization: ${shown}${invited}`}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        aria-busy={pendingOrganizationId !== null || undefined}
        onClick={() => (open ? close(false) : openAt('active'))}
        onKeyDown={onButtonKey}
      >
        {active ? (
          <>
            <span className="authio-org-name">{active.name}</span>{' '}
            <span className="authio-org-role">({active.role})</span>
          </>
        ) : (
          <span className="authio-org-name">{shown}</span>
        )}
        {count > 0 && (
          <>
            {' '}
            <span className="authio-badge">{count}</span>
          </>
        )}
      </button>
      {open && (
        <ul id={menuId} role="menu" aria-label={label} onKeyDown={onMenuKey}>
          {list.length === 0 && (
            <li role="menuitem" aria-disabled="true" tabIndex={-1} ref={(el) => void (items.current[0] = el)}>
              No organizations
            </li>
          )}
          {list.map((item, i) =>
            item.kind === 'org' ? (
              <li
                key={item.org.id}
                ref={(el) => void (items.current[i] = el)}
                role="menuitemradio"
                aria-checked={item.org.isActive}
                aria-current={item.org.isActive ? 'true' : undefined}
                tabIndex={-1}
                className={item.org.isActive ? 'authio-org authio-org-active' : 'authio-org'}
                onClick={() => void choose(item)}
                onMouseMove={() => i !== focus && setFocus(i)}
              >
                <span className="authio-org-name">{item.org.name}</span>{' '}
                <span className="authio-org-role">({item.org.role})</span>
              </li>
            ) : (
              <li
                key="invitations"
                ref={(el) => void (items.current[i] = el)}
                role="menuitem"
                tabIndex={-1}
                className="authio-invitations"
                onClick={() => void choose(item)}
                onMouseMove={() => i !== focus && setFocus(i)}
              >
                {nameOf(item, count)}
              </li>
            ),
          )}
        </ul>
      )}
      <span role="status" className="authio-status">
        {pendingOrganizationId !== null ? `Switching to ${pendingName}…` : switched && !error ? `Now working in ${switched}.` : ''}
      </span>
      {error && (
        <p role="alert" className="authio-error">
          {format(error)}
        </p>
      )}
    </div>
  );
}

function nameOf(item: Item, count: number): string {
  return item.kind === 'org' ? item.org.name : `Pending invitations (${count})`;
}
