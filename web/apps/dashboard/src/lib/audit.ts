// The audit log's filters and the event types it records (the domain's event names;
// operator and reservation events, refreshes and token issues are not in a project's
// log).
import type { AuditFilter } from './api';

export const AUDIT_ACTIONS: readonly string[] = [
  'api_key.created',
  'api_key.revoked',
  'directory.created',
  'directory.deleted',
  'directory.group_created',
  'directory.group_deleted',
  'directory.group_mappings_changed',
  'directory.group_member_added',
  'directory.group_member_removed',
  'directory.group_updated',
  'directory.token_rotated',
  'directory.user_linked',
  'directory.user_unlinked',
  'domain.added',
  'domain.policy_changed',
  'domain.removed',
  'domain.verification_failed',
  'domain.verified',
  'invitation.accepted',
  'invitation.created',
  'invitation.expired',
  'invitation.resent',
  'invitation.revoked',
  'membership.activated',
  'membership.created',
  'membership.deactivated',
  'membership.deleted',
  'membership.reactivated',
  'membership.role_changed',
  'organization.created',
  'organization.deleted',
  'organization.policy_changed',
  'organization.updated',
  'permission.created',
  'permission.deleted',
  'role.created',
  'role.default_changed',
  'role.deleted',
  'role.updated',
  'session.context_closed',
  'session.context_cut',
  'session.context_opened',
  'session.created',
  'session.org_switched',
  'session.revoked',
  'session.stepped_up',
  'team.created',
  'team.deleted',
  'team.member_added',
  'team.member_removed',
  'team.updated',
  'tenant.allowed_origins_changed',
  'tenant.created',
  'tenant.mode_changed',
  'tenant.organization_added',
  'tenant.organization_removed',
  'tenant.redirect_urls_changed',
  'tenant.settings_changed',
  'tenant.token_algorithm_changed',
  'tenant.updated',
  'user.created',
  'user.deleted',
  'user.passkey_registered',
  'user.sign_in_token_issued',
  'user.updated',
  'webhook_endpoint.created',
  'webhook_endpoint.deleted',
  'webhook_endpoint.disabled',
  'webhook_endpoint.enabled',
  'webhook_endpoint.secret_rotated',
  'webhook_endpoint.updated',
];

/** The filters named in the hash's query; blank ones are left out. */
export function auditFilterFromQuery(params: URLSearchParams): AuditFilter {
  const f: AuditFilter = {};
  for (const k of ['organization_id', 'action', 'actor_id'] as const) {
    const v = params.get(k)?.trim();
    if (v) f[k] = v;
  }
  return f;
}

/** "action is organization.created and actor is key_…", or null without filters. */
export function describeAuditFilter(f: AuditFilter): string | null {
  const parts: string[] = [];
  if (f.action) parts.push(`action is ${f.action}`);
  if (f.organization_id) parts.push(`organization is ${f.organization_id}`);
  if (f.actor_id) parts.push(`actor is ${f.actor_id}`);
  return parts.length ? parts.join(' and ') : null;
}
