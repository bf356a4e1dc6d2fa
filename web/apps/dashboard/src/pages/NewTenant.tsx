import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ModeCards } from '../components/ModeCards';
import { useConsole } from '../context';
import { ApiError, describeError } from '../lib/api';
import { modeInfo, type Mode } from '../lib/modes';
import { navigate } from '../lib/router';
import { PageTitle } from './PageTitle';

const SLUG = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The tenant creation wizard: 1. the mode, as radio cards; 2. the name and slug.
 * POST /v1/session/tenants makes the new tenant the session's active one.
 */
export function NewTenant() {
  const { api, reload } = useConsole();
  const [step, setStep] = useState<1 | 2>(1);
  const [mode, setMode] = useState<Mode>('b2b');
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [error, setError] = useState<{ field?: string; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const stepHeading = useRef<HTMLHeadingElement>(null);
  const moved = useRef(false);

  useEffect(() => {
    if (moved.current) stepHeading.current?.focus();
  }, [step]);

  const goTo = (s: 1 | 2) => {
    moved.current = true;
    setError(null);
    setStep(s);
  };

  const create = async (e: FormEvent) => {
    e.preventDefault();
    const n = name.trim();
    const s = slug.trim();
    if (!n) return setError({ field: 'name', message: 'Give the tenant a name.' });
    if (s && !SLUG.test(s)) {
      return setError({ field: 'slug', message: 'Use a–z, 0–9 and “-”, not at the start or end (63 at most).' });
    }
    setBusy(true);
    setError(null);
    try {
      await api.createTenant({ name: n, mode, ...(s ? { slug: s } : {}) });
      await reload();
      navigate('/');
    } catch (err) {
      setBusy(false);
      const field = err instanceof ApiError ? err.field : undefined;
      setError({ ...(field ? { field } : {}), message: describeError(err) });
    }
  };

  const fieldError = (f: string) => (error?.field === f ? error.message : null);

  return (
    <>
      <PageTitle title="New tenant" />
      <p className="muted" aria-live="polite">
        Step {step} of 2
      </p>
      {step === 1 ? (
        <form
          className="card"
          onSubmit={(e) => {
            e.preventDefault();
            goTo(2);
          }}
        >
          <h2 ref={stepHeading} tabIndex={-1}>
            How do your customers sign in?
          </h2>
          <ModeCards legend="Mode" name="mode" value={mode} onChange={setMode} />
          <p className="hint">You can change the mode later in Settings (away from B2B only while there are no organizations).</p>
          <div className="actions">
            <button type="submit">Next</button>
          </div>
        </form>
      ) : (
        <form className="card" onSubmit={(e) => void create(e)} noValidate>
          <h2 ref={stepHeading} tabIndex={-1}>
            Name your tenant
          </h2>
          <p>
            Mode: <strong>{modeInfo(mode).title}</strong> — {modeInfo(mode).summary}
          </p>
          <label htmlFor="tenant-name">Name</label>
          <input
            id="tenant-name"
            name="name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={200}
            required
            aria-invalid={fieldError('name') ? true : undefined}
            aria-describedby={fieldError('name') ? 'tenant-name-error' : undefined}
          />
          {fieldError('name') ? (
            <p id="tenant-name-error" role="alert" className="error">
              {fieldError('name')}
            </p>
          ) : null}
          <label htmlFor="tenant-slug">Slug (optional)</label>
          <input
            id="tenant-slug"
            name="slug"
            value={slug}
            onChange={(e) => setSlug(e.target.value)}
            maxLength={63}
            spellCheck={false}
            aria-invalid={fieldError('slug') ? true : undefined}
            aria-describedby={fieldError('slug') ? 'tenant-slug-hint tenant-slug-error' : 'tenant-slug-hint'}
          />
          <p id="tenant-slug-hint" className="hint">
            Lower-case letters, digits and dashes; made from the name when left empty.
          </p>
          {fieldError('slug') ? (
            <p id="tenant-slug-error" role="alert" className="error">
              {fieldError('slug')}
            </p>
          ) : null}
          {error && error.field !== 'name' && error.field !== 'slug' ? (
            <p role="alert" className="error">
              {error.message}
            </p>
          ) : null}
          <div className="actions">
            <button type="button" className="secondary" onClick={() => goTo(1)}>
              Back
            </button>
            <button type="submit" disabled={busy}>
              {busy ? 'Creating…' : 'Create tenant'}
            </button>
          </div>
        </form>
      )}
    </>
  );
}
