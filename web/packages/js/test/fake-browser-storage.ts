// The two browser stores the hand-over journal is about, faked as browsers behave:
// `localStorage` as each tab sees it (its own writes at once, the other tabs' writes only
// when delivered, as Chromium hands them over asynchronously), and an IndexedDB with one
// store for the whole origin (a transaction created after another one completed sees its
// writes, whichever tab made them).
import type { StorageLike } from '../src/index.js';

/** The origin's `localStorage`; `view()` is one tab's copy of it. */
export class LaggyStorage {
  /** What the browser holds (every write, in order). */
  readonly backend = new Map<string, string>();
  private readonly views: Map<string, string>[] = [];
  private readonly pending: (() => void)[] = [];
  /** While true, a tab's write reaches the other tabs only on `deliver()`. */
  lagging = false;

  /** A new tab's `localStorage`: a copy of what the browser holds now. */
  view(): StorageLike {
    const own = new Map(this.backend);
    this.views.push(own);
    const write = (k: string, v: string | null) => {
      const apply = (m: Map<string, string>) => (v === null ? m.delete(k) : m.set(k, v));
      apply(own);
      apply(this.backend);
      for (const other of this.views) {
        if (other === own) continue;
        if (this.lagging) this.pending.push(() => apply(other));
        else apply(other);
      }
    };
    return {
      getItem: (k) => own.get(k) ?? null,
      setItem: (k, v) => write(k, String(v)),
      removeItem: (k) => write(k, null),
      get length() {
        return own.size;
      },
      key: (i) => [...own.keys()][i] ?? null,
    };
  }

  /** The other tabs now see every write made so far. */
  deliver(): void {
    for (const apply of this.pending.splice(0)) apply();
  }
}

type Handler = (() => void) | null;
interface FakeRequest {
  result: unknown;
  error: unknown;
  onsuccess: Handler;
  onerror: Handler;
}

/** `indexedDB`, in memory, with what the journal uses: open (version 1), object stores, get and put. */
export class FakeIndexedDB {
  /** Database name → object store name → key → value. */
  readonly databases = new Map<string, Map<string, Map<string, unknown>>>();
  opens = 0;
  /** Every open fails (as when the browser blocks storage). */
  failOpen = false;
  /** Transactions committed, by mode. */
  readonly committed = { readonly: 0, readwrite: 0 };

  open(name: string): unknown {
    this.opens++;
    const req = { result: undefined as unknown, error: null as unknown, onsuccess: null as Handler, onerror: null as Handler, onupgradeneeded: null as Handler, onblocked: null as Handler };
    queueMicrotask(() => {
      if (this.failOpen) {
        req.error = new Error('UnknownError: storage is blocked');
        req.onerror?.();
        return;
      }
      let stores = this.databases.get(name);
      const created = !stores;
      if (!stores) this.databases.set(name, (stores = new Map()));
      req.result = this.connection(stores);
      if (created) req.onupgradeneeded?.();
      req.onsuccess?.();
    });
    return req;
  }

  private connection(stores: Map<string, Map<string, unknown>>) {
    const db = {
      onversionchange: null as Handler,
      close: () => undefined,
      createObjectStore: (n: string) => void stores.set(n, new Map()),
      transaction: (n: string, mode: 'readonly' | 'readwrite') => {
        const records = stores.get(n);
        if (!records) throw new Error(`NotFoundError: no object store ${n}`);
        let open = 0;
        const tx = { error: null, oncomplete: null as Handler, onerror: null as Handler, onabort: null as Handler, objectStore: () => store };
        // Requests run one after another; the transaction completes when none is left.
        const request = (run: () => unknown): FakeRequest => {
          const r: FakeRequest = { result: undefined, error: null, onsuccess: null, onerror: null };
          open++;
          queueMicrotask(() => {
            r.result = run();
            r.onsuccess?.();
            if (--open === 0) {
              queueMicrotask(() => {
                this.committed[mode]++;
                tx.oncomplete?.();
              });
            }
          });
          return r;
        };
        const store = {
          get: (k: string) => request(() => structuredClone(records.get(k))),
          put: (v: unknown, k: string) => {
            if (mode !== 'readwrite') throw new Error('ReadOnlyError');
            return request(() => void records.set(k, structuredClone(v)));
          },
        };
        return tx;
      },
    };
    return db;
  }

  /** What the journal holds for a storage key (digests, oldest first). */
  journal(key: string): string[] {
    return (this.databases.get('authio-js')?.get('replaced')?.get(key) as string[] | undefined) ?? [];
  }
}

export const asFactory = (f: FakeIndexedDB) => f as unknown as IDBFactory;
