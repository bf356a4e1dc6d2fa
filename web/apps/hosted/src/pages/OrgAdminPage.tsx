import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { AddPasskey } from '../components/AddPasskey';
import { Chooser } from '../components/Chooser';
import { EnterOrganization } from '../components/EnterOrganization';
import { Alert } from '../components/Frame';
import { Heading } from '../components/Heading';
import { SignInForm } from '../components/SignInForm';
import { userApi, type AuditEvent, type Member, type MemberSession, type Page } from '../lib/api';
import { describeError } from '../lib/errors';
import { adminMemberships, organizationName } from '../lib/flow';
import { formatTime, personName } from '../lib/format';
import type { Tokens } from '../lib/tokens';
import type { PageProps } from './props';

/**
 * /hosted/org-admin?pk=…: for users who are admins of an organization. After sign-in it
 * lists only the organizations where the user is an active admin; for the chosen one
 * (the session switches into it) it shows its members, its members' sessions in it
 * (revocable: only that organization's context closes) and its slice of the audit log.
 */
export function OrgAdminPage({ pk, project, search, tokens, onSignedIn, onSignOut }: PageProps) {
  if (!tokens) {
    return (
      <SignInForm
        pk={pk}
        project={project}
        search={search}
        flow="org-admin"
        email={null}
        title="Manage your organization"
        intro={<p>Sign in as an admin of an organization on {project.name}.</p>}
        onSignedIn={(answer) => onSignedIn(answer)}
      />
    );
  }
  return <OrgAdmin base={tokens} projectName={project.name} onSignOut={onSignOut} />;
}

function OrgAdmin({ base, projectName, onSignOut }: { base: Tokens; projectName: string; onSignOut: () => void }) {
  const memberships = base.session.memberships;
  const admins = adminMemberships(memberships);
  const [chosen, setChosen] = useState<string | null>(admins.length === 1 ? admins[0]!.organization.id : null);
  const [orgTokens, setOrgTokens] = useState<Tokens | null>(null);
  const signOut = (
    <button type="button" className="secondary" onClick={onSignOut}>
      Sign out
    </button>
  );
  const toChooser = admins.length > 1 ? () => (setOrgTokens(null), setChosen(null)) : null;

  if (admins.length === 0) {
    return (
      <>
        <Heading>No organization to manage</Heading>
        <p>
          You are signed in as <strong>{base.session.user.email}</strong>, who is not an admin of any organization on{' '}
          {projectName}. Ask an admin of your organization if you need access.
        </p>
        <div className="actions">{signOut}</div>
      </>
    );
  }
  if (chosen === null) {
    return (
      <>
        <Chooser
          title="Choose an organization to manage"
          intro={
            <p>
              Signed in as <strong>{base.session.user.email}</strong>. You are an admin of these organizations:
            </p>
          }
          options={admins}
          onChoose={setChosen}
        />
        <div className="actions">{signOut}</div>
      </>
    );
  }
  const name = organizationName(memberships, chosen);
  if (!orgTokens) {
    return (
      <EnterOrganization
        key={chosen}
        base={base}
        organizationId={chosen}
        name={name}
        onEntered={setOrgTokens}
        onBack={toChooser ?? onSignOut}
        backLabel={toChooser ? 'Choose another organization' : 'Sign out'}
      />
    );
  }
  return (
    <OrgConsole
      key={chosen}
      tokens={orgTokens}
      organizationId={chosen}
      name={name}
      onSwitch={toChooser}
      signOut={signOut}
    />
  );
}

interface Lists {
  members: Page<Member>;
  sessions: Page<MemberSession>;
  audit: Page<AuditEvent>;
}

/** Each list's page fetch (`after` null for the first page). */
const fetchers: { [K in keyof Lists]: (token: string, org: string, after: string | null) => Promise<Lists[K]> } = {
  members: userApi.members,
  sessions: userApi.sessions,
  audit: userApi.audit,
};

function OrgConsole({
  tokens,
  organizationId: org,
  name,
  onSwitch,
  signOut,
}: {
  tokens: Tokens;
  organizationId: string;
  name: string;
  onSwitch: (() => void) | null;
  signOut: ReactNode;
}) {
  const [lists, setLists] = useState<Lists | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState('');
  const [revoking, setRevoking] = useState<string | null>(null);
  // The lists whose next page is being fetched (the ref guards against a second click before the re-render).
  const [loadingMore, setLoadingMore] = useState<ReadonlySet<keyof Lists>>(new Set());
  const fetching = useRef(new Set<keyof Lists>());
  const me = tokens.session;
  // Members' ids to their emails, to name the people in the audit log.
  const emails = new Map((lists?.members.data ?? []).map((m) => [m.user_id, m.user.email]));

  const load = useCallback(async () => {
    try {
      const token = await tokens.accessToken();
      const [members, sessions, audit] = await Promise.all([
        fetchers.members(token, org, null),
        fetchers.sessions(token, org, null),
        fetchers.audit(token, org, null),
      ]);
      setLists({ members, sessions, audit });
      setError(null);
    } catch (e) {
      setError(describeError(e));
    }
  }, [tokens, org]);

  useEffect(() => {
    void load();
  }, [load]);

  const more = async <K extends keyof Lists>(key: K) => {
    if (!lists?.[key].next_cursor || fetching.current.has(key)) return;
    fetching.current.add(key);
    setLoadingMore(new Set(fetching.current));
    try {
      const token = await tokens.accessToken();
      const after = lists[key].next_cursor;
      const next = await fetchers[key](token, org, after);
      setLists((l) =>
        l ? { ...l, [key]: { data: [...l[key].data, ...next.data], next_cursor: next.next_cursor } } : l,
      );
    } catch (e) {
      setError(describeError(e));
    } finally {
      fetching.current.delete(key);
      setLoadingMore(new Set(fetching.current));
    }
  };

  const revoke = async (s: MemberSession) => {
    setRevoking(s.session_id);
    setNotice('');
    try {
      await userApi.revokeSession(await tokens.accessToken(), org, s.session_id);
      setNotice(`${s.email} is signed out of ${name}.`);
      await load();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setRevoking(null);
    }
  };

  return (
    <>
      <div className="titlebar">
        <Heading>{name}</Heading>
        <div className="actions">
          {onSwitch ? (
            <button type="button" className="secondary" onClick={onSwitch}>
              Switch organization
            </button>
          ) : null}
          {signOut}
        </div>
      </div>
      <p className="muted">
        Signed in as {me.user.email} ({me.active_organization?.role ?? 'admin'})
      </p>
      <Alert>{error}</Alert>
      <p role="status" className="ok">
        {notice}
      </p>
      {lists === null ? (
        error ? null : <p role="status">Loading…</p>
      ) : (
        <>
          <section aria-labelledby="members-h">
            <h2 id="members-h">Members ({lists.members.data.length}{lists.members.next_cursor ? '+' : ''})</h2>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Email</th>
                    <th scope="col">Role</th>
                    <th scope="col">Status</th>
                    <th scope="col">Joined</th>
                  </tr>
                </thead>
                <tbody>
                  {lists.members.data.map((m) => (
                    <tr key={m.id}>
                      <td>{personName(m.user) ?? '—'}</td>
                      <td>{m.user.email}</td>
                      <td>{m.role}</td>
                      <td>{m.status}</td>
                      <td>{formatTime(m.joined_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <More
              page={lists.members}
              label="Show more members"
              loading={loadingMore.has('members')}
              onMore={() => void more('members')}
            />
          </section>

          <section aria-labelledby="sessions-h">
            <h2 id="sessions-h">Sessions in {name}</h2>
            <p className="hint">
              Revoking signs the member out of {name} only; their other organizations are not affected.
            </p>
            {lists.sessions.data.length === 0 ? (
              <p>No member is signed in to {name}.</p>
            ) : (
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Member</th>
                      <th scope="col">Role</th>
                      <th scope="col">Signed in</th>
                      <th scope="col">Last refreshed</th>
                      <th scope="col">
                        <span className="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {lists.sessions.data.map((s) => (
                      <tr key={s.session_id} data-session={s.session_id}>
                        <td>{s.email}</td>
                        <td>{s.role}</td>
                        <td>{formatTime(s.created_at)}</td>
                        <td>{formatTime(s.last_refreshed_at)}</td>
                        <td>
                          {s.session_id === me.session_id ? (
                            <span className="muted">This session</span>
                          ) : (
                            <button
                              type="button"
                              className="danger small"
                              aria-label={`Revoke the session of ${s.email}`}
                              disabled={revoking !== null}
                              onClick={() => void revoke(s)}
                            >
                              {revoking === s.session_id ? 'Revoking…' : 'Revoke'}
                            </button>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <More
              page={lists.sessions}
              label="Show more sessions"
              loading={loadingMore.has('sessions')}
              onMore={() => void more('sessions')}
            />
          </section>

          <section aria-labelledby="audit-h">
            <h2 id="audit-h">Audit log</h2>
            {lists.audit.data.length === 0 ? (
              <p>Nothing recorded yet.</p>
            ) : (
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Time</th>
                      <th scope="col">Event</th>
                      <th scope="col">Actor</th>
                      <th scope="col">Targets</th>
                    </tr>
                  </thead>
                  <tbody>
                    {lists.audit.data.map((e) => (
                      <tr key={e.id}>
                        <td>{formatTime(e.occurred_at)}</td>
                        <td>
                          <code>{e.type}</code>
                        </td>
                        <td>
                          {e.actor.type}
                          {e.actor.id ? (
                            <>
                              {' '}
                              {emails.get(e.actor.id) ?? <code className="wrap">{e.actor.id}</code>}
                            </>
                          ) : null}
                        </td>
                        <td>
                          {e.targets.map((t) => (
                            <div key={`${t.type}:${t.id}`}>
                              {t.type} {emails.get(t.id) ?? <code className="wrap">{t.id}</code>}
                            </div>
                          ))}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <More
              page={lists.audit}
              label="Show older events"
              loading={loadingMore.has('audit')}
              onMore={() => void more('audit')}
            />
          </section>

          <section aria-labelledby="passkey-h">
            <h2 id="passkey-h">Your passkeys</h2>
            <AddPasskey tokens={tokens} />
          </section>
        </>
      )}
    </>
  );
}

/** The next page of a list; disabled (and saying so) while it is being fetched. */
export function More({
  page,
  label,
  loading,
  onMore,
}: {
  page: Page<unknown>;
  label: string;
  loading: boolean;
  onMore: () => void;
}) {
  if (!page.next_cursor) return null;
  return (
    <button type="button" className="secondary small" onClick={onMore} disabled={loading} aria-busy={loading || undefined}>
      {loading ? 'Loading…' : label}
    </button>
  );
}
