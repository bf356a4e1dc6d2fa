import type { ReactNode } from 'react';
import type { Project } from '../lib/api';

/** The page: the project's name as the brand, a test-mode badge, and the content in a card. */
export function Frame({ project, wide, children }: { project: Project | null; wide?: boolean; children: ReactNode }) {
  return (
    <>
      <header className="brandbar">
        <span className="brand">{project ? project.name : 'Sign in'}</span>
        {project?.environment === 'test' ? (
          <span className="badge" title="This project uses test keys">
            Test mode
          </span>
        ) : null}
      </header>
      <main id="main" className={wide ? 'card wide' : 'card'}>
        {children}
      </main>
      <footer className="footnote">Secured by Authio</footer>
    </>
  );
}

/** An error for people, announced when it appears. */
export function Alert({ id, children }: { id?: string; children: ReactNode }) {
  if (children === null || children === undefined || children === false || children === '') return null;
  return (
    <p id={id} role="alert" className="error">
      {children}
    </p>
  );
}
