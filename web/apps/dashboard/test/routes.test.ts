import { describe, expect, it } from 'vitest';
import { href, parseQuery, parseRoute, routeId, sectionOf } from '../src/lib/router';

describe('routes of the project pages', () => {
  it('map the new sections', () => {
    expect(parseRoute('#/users')).toBe('/users');
    expect(parseRoute('#/webhooks')).toBe('/webhooks');
    expect(parseRoute('#/audit')).toBe('/audit');
  });

  it('map one user and one endpoint to their section', () => {
    const user = parseRoute('#/users/user_01abc');
    expect(user).toBe('/users/user_01abc');
    expect(sectionOf(user!)).toBe('/users');
    expect(routeId(user!, '/users')).toBe('user_01abc');
    expect(routeId(user!, '/webhooks')).toBeNull();
    const endpoint = parseRoute('#/webhooks/whep_01xyz?status=failed');
    expect(endpoint).toBe('/webhooks/whep_01xyz');
    expect(routeId(endpoint!, '/webhooks')).toBe('whep_01xyz');
    expect(sectionOf('/settings')).toBe('/settings');
  });

  it('map the OAuth clients section and one organization\'s page', () => {
    expect(parseRoute('#/oauth-clients')).toBe('/oauth-clients');
    expect(parseRoute('#/social-connections')).toBe('/social-connections');
    const org = parseRoute('#/organizations/org_01abc');
    expect(org).toBe('/organizations/org_01abc');
    expect(sectionOf(org!)).toBe('/organizations');
    expect(routeId(org!, '/organizations')).toBe('org_01abc');
    expect(routeId(org!, '/users')).toBeNull();
  });

  it('refuse what is not an id or not a page', () => {
    expect(parseRoute('#/users/a/b')).toBeNull();
    expect(parseRoute('#/users/')).toBeNull();
    expect(parseRoute('#/users/a%20b')).toBeNull();
    expect(parseRoute('#/organizations/org_1/x')).toBeNull();
  });

  it('keep filters in the hash\'s query', () => {
    expect(parseRoute('#/audit?action=organization.created')).toBe('/audit');
    expect(parseQuery('#/audit?action=organization.created&actor_id=key_1').get('actor_id')).toBe('key_1');
    expect(parseQuery('#/audit').toString()).toBe('');
    expect(href('/audit', { action: 'user.created', organization_id: '', actor_id: null })).toBe(
      '#/audit?action=user.created',
    );
    expect(href('/users')).toBe('#/users');
  });
});
