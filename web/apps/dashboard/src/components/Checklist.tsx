import type { ChecklistItem } from '../lib/api';
import { href, type Route } from '../lib/router';

/** Where the dashboard can take the operator to do a checklist item (none yet for the rest). */
export const CHECKLIST_LINKS: Readonly<Record<string, Route>> = {
  create_tenant: '/tenants/new',
  create_organization: '/organizations',
};

export function checklistProgress(items: readonly ChecklistItem[]): string {
  const done = items.filter((i) => i.done).length;
  return `${done} of ${items.length} done`;
}

/** The home checklist, in the order and words the API gives (GET /v1/session/home). */
export function Checklist({ items }: { items: readonly ChecklistItem[] }) {
  if (items.length === 0) return <p>Nothing left to set up.</p>;
  return (
    <section aria-labelledby="checklist-heading" className="card">
      <h2 id="checklist-heading">Get started</h2>
      <p className="muted">{checklistProgress(items)}</p>
      <ul className="checklist">
        {items.map((item) => {
          const to = CHECKLIST_LINKS[item.id];
          return (
            <li key={item.id} data-item={item.id} data-done={item.done ? 'true' : 'false'}>
              <span className="check" aria-hidden="true">
                {item.done ? '✓' : ''}
              </span>
              <span className="item-title">{item.title}</span>
              <span className="visually-hidden">{item.done ? ' (done)' : ' (to do)'}</span>
              {!item.done && to ? (
                <a className="item-action" href={href(to)}>
                  Start<span className="visually-hidden">: {item.title}</span>
                </a>
              ) : null}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
