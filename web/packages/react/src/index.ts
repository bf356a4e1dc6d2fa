/**
 * @authio/react — React bindings for the @authio/js client: a provider holding the
 * client and this tab's organization context, hooks for the session, the user, their
 * organizations and permissions, and accessible components (sign-in form, organization
 * switcher, permission gate).
 */
export { AuthioProvider, type AuthioProviderProps } from './provider.js';
export {
  useActiveOrganization,
  useAuthio,
  useOrganizations,
  usePermissions,
  useSession,
  useSwitchOrganization,
  useUser,
  useVerifyMagicLink,
  type OrganizationMembership,
  type UseActiveOrganization,
  type UseOrganizations,
  type UsePermissions,
  type UseSession,
  type UseSwitchOrganization,
  type UseUser,
  type UseVerifyMagicLink,
} from './hooks.js';
export type { DroppedContext } from './store.js';
export { SignIn, type SignInLabels, type SignInProps } from './SignIn.js';
export { OrganizationSwitcher, type OrganizationSwitcherProps } from './OrganizationSwitcher.js';
export { Protect, SignedIn, SignedOut, type ProtectProps } from './Protect.js';
export { describeError } from './messages.js';
// The client itself, so that an app can import everything from one package.
export { createAuthio, AuthioClient, AuthioError, isAuthioError, memoryStorage } from '@authio/js';
export type { AuthioOptions, Me, MembershipSummary, ActiveOrganization, CachedContext } from '@authio/js';
