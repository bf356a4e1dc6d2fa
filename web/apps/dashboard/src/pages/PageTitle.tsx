import { useEffect } from 'react';

/** The page's h1 (focusable, so navigation can move focus to it) and the document title. */
export function PageTitle({ title }: { title: string }) {
  useEffect(() => {
    document.title = `${title} · Authio dashboard`;
  }, [title]);
  return <h1 tabIndex={-1}>{title}</h1>;
}

/** For pages that need an active tenant when none is selected. */
export function NoTenant() {
  return (
    <p className="lead">
      No tenant is selected. Choose one above, or <a href="#/tenants/new">create a tenant</a>.
    </p>
  );
}
