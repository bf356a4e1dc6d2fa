/** The subset of the Web Storage API the client uses (`localStorage` fits). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
  readonly length: number;
  key(index: number): string | null;
}

/** A Storage kept in memory: for tests, servers, and browsers where localStorage is blocked. */
export function memoryStorage(): StorageLike {
  const items = new Map<string, string>();
  return {
    getItem: (k) => items.get(k) ?? null,
    setItem: (k, v) => void items.set(k, String(v)),
    removeItem: (k) => void items.delete(k),
    get length() {
      return items.size;
    },
    key: (i) => [...items.keys()][i] ?? null,
  };
}

/** `localStorage` when the page may use it, else a memory storage (tokens then last one tab's life). */
export function defaultStorage(): StorageLike {
  try {
    const s = (globalThis as { localStorage?: StorageLike }).localStorage;
    if (s) {
      const probe = 'authio:probe';
      s.setItem(probe, '1');
      s.removeItem(probe);
      return s;
    }
  } catch {
    // Blocked (privacy settings, sandboxed frame) or full: fall through.
  }
  return memoryStorage();
}
