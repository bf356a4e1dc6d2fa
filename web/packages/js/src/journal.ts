/**
 * The hand-over journal: the refresh tokens the holders of a context's refresh lock
 * replaced in storage, kept in IndexedDB, so that the next holder never presents one.
 *
 * Why it is needed. Token sets live in `localStorage`, and a context is refreshed under a
 * Web Lock. The lock orders the tabs, but not what they see of `localStorage`: a browser
 * hands one tab's `localStorage` write to the origin's other tabs asynchronously (Chromium
 * keeps a copy of the storage in each renderer and sends changes over one IPC channel; the
 * lock grant comes over another, with no order between the two). The tab granted the lock
 * right after another tab rotated the pair can therefore still read the old pair for a
 * few milliseconds (0.2–3.3 ms measured in Chromium) and present its refresh token, which
 * the server took for theft: the whole session was revoked, in about one same-moment
 * hand-over in four.
 *
 * Why IndexedDB is the right witness. IndexedDB has no per-tab copy: every transaction is
 * served by the one backing store of the origin, and a transaction created after a
 * read/write transaction on the same store has completed sees its writes ("IndexedDB",
 * transaction scheduling), whichever tab or connection made them. The holder commits its
 * journal entry (and waits for `complete`) before it writes the new pair and releases
 * the lock; the next holder opens its read transaction only once it holds the lock. Its
 * read therefore comes after the commit, and shows every token replaced so far. If
 * `localStorage` still shows one of them, that tab's view is behind: it waits until the
 * successor shows (a `storage` event, or a short poll) and never sends the spent token.
 *
 * Why not something else. A generation announced over BroadcastChannel (or a `storage`
 * event) has the very flaw being fixed: it is delivered asynchronously, with no order
 * against the lock grant, so the next holder may not have heard of the newest generation
 * yet. Moving the token sets themselves into IndexedDB would make `cachedContexts()` and
 * `organizationId` asynchronous, lose the `storage` event that @authio/react and pages
 * follow, and, while tabs of an older version of this client are open (a deploy), the
 * new tabs would read sets those tabs never wrote there: stale not for milliseconds but
 * for good. The journal keeps `localStorage` the one store of token sets and only adds
 * facts that no tab can see out of order; a set written by a tab that keeps no journal
 * is simply taken as it is (the behaviour before the journal).
 *
 * It keeps 64-bit digests (not the tokens) of the last 16 replaced tokens per context: a
 * tab's view lags by milliseconds, not by 16 network round trips. When IndexedDB cannot be
 * opened (storage blocked, a browser bug) the client goes on without it, as before, and
 * tries again at the next refresh.
 */

const DB_NAME = 'authio-js';
const STORE = 'replaced';
/** Replaced tokens remembered per context. */
const KEEP = 16;
/** An `indexedDB.open` that neither succeeds nor fails within this is given up on (an old Safari bug). */
const OPEN_TIMEOUT_MS = 2_000;

/** A 64-bit digest of a token (cyrb53-style, two 32-bit lanes): enough to tell 16 random tokens apart, useless to replay. */
export function digest(token: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const hex = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
  return hex(h2) + hex(h1);
}

export class Journal {
  private db: Promise<IDBDatabase | null> | undefined;

  constructor(private readonly idb: IDBFactory) {}

  /** Digests of the tokens replaced in context `key` (a storage key), as committed by every tab so far. */
  async replaced(key: string): Promise<Set<string>> {
    return new Set((await this.run('readonly', (s) => s.get(key))) as string[] | undefined);
  }

  /** Records that `token` was replaced in context `key`; resolves once the record is committed. */
  async add(key: string, token: string): Promise<void> {
    await this.run('readwrite', (s) => {
      const r = s.get(key);
      r.onsuccess = () => {
        const list = Array.isArray(r.result) ? (r.result as string[]) : [];
        s.put([...list, digest(token)].slice(-KEEP), key);
      };
    });
  }

  /** Runs `op` in one transaction; resolves when it completes (undefined without IndexedDB or on failure). */
  private async run(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest | void): Promise<unknown> {
    const db = await (this.db ??= this.open());
    if (!db) {
      this.db = undefined; // try again next time
      return undefined;
    }
    try {
      return await new Promise((ok, fail) => {
        const tx = db.transaction(STORE, mode);
        const req = op(tx.objectStore(STORE));
        tx.oncomplete = () => ok(req ? req.result : undefined);
        tx.onabort = tx.onerror = () => fail(tx.error);
      });
    } catch {
      // A failed transaction (e.g. the connection closed under it): the next one reopens.
      this.db = undefined;
      return undefined;
    }
  }

  private open(): Promise<IDBDatabase | null> {
    return new Promise((done) => {
      const timer = setTimeout(() => done(null), OPEN_TIMEOUT_MS);
      const finish = (db: IDBDatabase | null) => {
        clearTimeout(timer);
        done(db);
      };
      try {
        const req = this.idb.open(DB_NAME, 1);
        req.onupgradeneeded = () => req.result.createObjectStore(STORE);
        req.onsuccess = () => {
          const db = req.result;
          // Another tab upgrading the database (a later version of this client): let it.
          db.onversionchange = () => {
            db.close();
            this.db = undefined;
          };
          finish(db);
        };
        req.onerror = req.onblocked = () => finish(null);
      } catch {
        finish(null);
      }
    });
  }
}
