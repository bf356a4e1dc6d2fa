// Session answers as the server gives them, for the tests of any environment (no DOM).
import type { MembershipSummary, SessionAnswer } from '../src/lib/api';

/**
 * Ada's session answer number `n` (tokens `at_n`, `rt_n`), acting in `org`'s context when
 * given; `memberships` omitted when not given (an answer with `include=` switched off).
 */
export function sessionAnswer(
  n: number,
  memberships?: MembershipSummary[],
  org: MembershipSummary | null = null,
): SessionAnswer {
  return {
    access_token: `at_${n}`,
    refresh_token: `rt_${n}`,
    token_type: 'Bearer',
    expires_in: 300,
    session_id: 'sess_1',
    user: { id: 'user_1', email: 'ada@example.com' },
    active_organization: org ? { ...org.organization, role: org.role } : null,
    ...(memberships ? { memberships } : {}),
  };
}
