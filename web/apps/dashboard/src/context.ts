import { createContext, useContext } from 'react';
import type { ConsoleApi, Home, Tenant } from './lib/api';

export interface ConsoleState {
  api: ConsoleApi;
  /** The operator, the session's active tenant and its checklist (GET /v1/session/home). */
  home: Home;
  /** The tenants the operator owns (GET /v1/session/tenants/me). */
  tenants: Tenant[];
  /** Read home and tenants again (after a change). */
  reload: () => Promise<void>;
}

export const ConsoleContext = createContext<ConsoleState | null>(null);

export function useConsole(): ConsoleState {
  const state = useContext(ConsoleContext);
  if (!state) throw new Error('useConsole outside the console');
  return state;
}
