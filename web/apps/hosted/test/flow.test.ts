import { describe, expect, it } from 'vitest';
import type { MembershipSummary } from '../src/lib/api';
import {
  activeMemberships,
  adminMemberships,
  asSsoRoute,
  lookupEmail,
  nextStep,
  organizationName,
  selectsAccount,
  ssoOffer,
} from '../src/lib/flow';

const m = (id: string, role: string, status = 'active'): MembershipSummary => ({
  organization: { id, name: id.replace('org_', '').toUpperCase(), slug: id },
  role,
  status,
});

describe('after sign-in', () => {
  it('several active memberships: the user chooses among the active ones', () => {
    const ms = [m('org_a', 'admin'), m('org_b', 'member'), m('org_c', 'member', 'inactive'), m('org_d', 'member', 'pending')];
    expect(nextStep(ms, null)).toEqual({ kind: 'choose', options: [ms[0], ms[1]] });
  });

  it('one active membership: straight in', () => {
    expect(nextStep([m('org_a', 'member'), m('org_b', 'admin', 'inactive')], null)).toEqual({
      kind: 'switch',
      organizationId: 'org_a',
    });
  });

  it('none (or no memberships at all): on without an organization', () => {
    expect(nextStep([], null)).toEqual({ kind: 'none' });
    expect(nextStep(undefined, null)).toEqual({ kind: 'none' });
    expect(nextStep([m('org_a', 'member', 'inactive')], null)).toEqual({ kind: 'none' });
  });

  it('the organization the app asks for wins, member or not (the server decides)', () => {
    const ms = [m('org_a', 'admin'), m('org_b', 'member')];
    expect(nextStep(ms, 'org_b')).toEqual({ kind: 'switch', organizationId: 'org_b' });
    expect(nextStep(ms, 'org_x')).toEqual({ kind: 'switch', organizationId: 'org_x' });
    // An answer without a membership list: the server decides too.
    expect(nextStep(undefined, 'org_x')).toEqual({ kind: 'switch', organizationId: 'org_x' });
  });

  it('asked for an organization with no active membership at all: not a member, nothing to switch to', () => {
    expect(nextStep([], 'org_x')).toEqual({ kind: 'not-member', organizationId: 'org_x' });
    expect(nextStep([m('org_x', 'member', 'inactive')], 'org_x')).toEqual({ kind: 'not-member', organizationId: 'org_x' });
  });
});

describe('an OAuth client’s prompt=select_account', () => {
  it('reads select_account among prompt’s space-separated values', () => {
    expect(selectsAccount('select_account')).toBe(true);
    expect(selectsAccount('login select_account')).toBe(true);
    expect(selectsAccount('login')).toBe(false);
    expect(selectsAccount('select_accounts')).toBe(false);
    expect(selectsAccount(null)).toBe(false);
    expect(selectsAccount(undefined)).toBe(false);
  });

  it('offers the chooser even for one membership, and over the organization asked for', () => {
    const ms = [m('org_a', 'admin'), m('org_b', 'member', 'inactive')];
    expect(nextStep(ms, null, true)).toEqual({ kind: 'choose', options: [ms[0]] });
    expect(nextStep([...ms, m('org_c', 'member')], 'org_c', true)).toEqual({ kind: 'choose', options: [ms[0], m('org_c', 'member')] });
  });

  it('with no active membership there is nothing to choose: as without it', () => {
    expect(nextStep([], null, true)).toEqual({ kind: 'none' });
    expect(nextStep(undefined, null, true)).toEqual({ kind: 'none' });
    expect(nextStep([m('org_x', 'member', 'inactive')], 'org_x', true)).toEqual({ kind: 'not-member', organizationId: 'org_x' });
  });

  it('without it, the organization asked for is entered straight away (no chooser)', () => {
    const ms = [m('org_a', 'admin'), m('org_b', 'member')];
    expect(nextStep(ms, 'org_b', false)).toEqual({ kind: 'switch', organizationId: 'org_b' });
  });
});

describe('the org-admin list', () => {
  it('holds only active memberships with the admin role', () => {
    const ms = [m('org_a', 'admin'), m('org_b', 'member'), m('org_c', 'admin', 'inactive'), m('org_d', 'owner')];
    expect(adminMemberships(ms).map((x) => x.organization.id)).toEqual(['org_a']);
    expect(adminMemberships(undefined)).toEqual([]);
    expect(activeMemberships(ms).map((x) => x.organization.id)).toEqual(['org_a', 'org_b', 'org_d']);
  });

  it('names an organization, or falls back to its id', () => {
    expect(organizationName([m('org_a', 'admin')], 'org_a')).toBe('A');
    expect(organizationName([], 'org_z')).toBe('org_z');
  });
});

describe('SSO (home-realm discovery)', () => {
  const route = (required: boolean) => ({ organization_id: 'org_a', connection_id: 'conn_1', required });

  it('a route offers the connection, alone when the organization requires it (every page can start it)', () => {
    expect(ssoOffer(route(false))).toEqual({ kind: 'start', connectionId: 'conn_1', only: false });
    expect(ssoOffer(route(true))).toEqual({ kind: 'start', connectionId: 'conn_1', only: true });
  });

  it('no route: the usual form', () => {
    expect(ssoOffer(null)).toEqual({ kind: 'none' });
  });

  it('looks up only what looks like an address with a dotted domain, trimmed', () => {
    expect(lookupEmail('  ada@example.com ')).toBe('ada@example.com');
    expect(lookupEmail('ada+x@mail.example.co.uk')).toBe('ada+x@mail.example.co.uk');
    for (const e of ['', 'ada', 'ada@', 'ada@example', 'ada@example.', '@example.com', 'a da@example.com', 'a@b@c.com', 'ada@.com']) {
      expect(lookupEmail(e), e).toBeNull();
    }
  });

  it('reads a lookup’s answer only when it names a connection', () => {
    expect(asSsoRoute(route(true))).toEqual(route(true));
    expect(asSsoRoute({ connection_id: 'conn_1', required: 'yes' })).toEqual({
      organization_id: '',
      connection_id: 'conn_1',
      required: false,
    });
    for (const a of [undefined, null, {}, { connection_id: '' }, { connection_id: 7 }, 'conn_1']) expect(asSsoRoute(a)).toBeNull();
  });
});
