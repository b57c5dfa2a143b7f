import { InMemoryWebStorage, UserManager, WebStorageStateStore, type User } from 'oidc-client-ts';
import { config } from './config';
import { signal } from './signal';

/**
 * Sign-in with the user pool: authorization code + PKCE, public client.
 * Tokens live in memory only (gone with the tab); the short-lived
 * code-flow state (PKCE verifier, where to return) rides sessionStorage
 * across the redirect, as it must.
 */
export const userManager = new UserManager({
  authority: config.issuer,
  client_id: config.clientId,
  redirect_uri: `${location.origin}/callback`,
  post_logout_redirect_uri: `${location.origin}/signed-out`,
  response_type: 'code',
  scope: 'openid email profile',
  userStore: new WebStorageStateStore({ store: new InMemoryWebStorage() }),
  stateStore: new WebStorageStateStore({ store: sessionStorage }),
  automaticSilentRenew: false,
  monitorSession: false,
  loadUserInfo: false,
});

/** The signed-in staff member, or null. */
export const session = signal<User | null>(null);

/** The role the ID token claims; only for what to show: the API decides what is allowed. */
export type Role = 'billing' | 'sales' | null;

export function roleOf(user: User | null): Role {
  const groups = (user?.profile?.['cognito:groups'] as string[] | undefined) ?? [];
  if (groups.includes('billing')) return 'billing';
  if (groups.includes('sales')) return 'sales';
  return null;
}

/** The bearer token the staff API expects: the ID token (API Gateway's JWT authorizer checks its audience). */
export function bearer(): string | null {
  const user = session.get();
  if (!user || user.expired) return null;
  return user.id_token ?? null;
}

/** Go to the user pool's login and come back to `returnTo` (default: this page). */
export async function login(returnTo = location.pathname + location.search): Promise<void> {
  await userManager.signinRedirect({ state: { returnTo } });
}

/** Finish the code flow on /callback; answers the page to return to. */
export async function completeLogin(): Promise<string> {
  const user = await userManager.signinRedirectCallback();
  session.set(user);
  const returnTo = (user.state as { returnTo?: string } | undefined)?.returnTo;
  return returnTo && returnTo.startsWith('/') && !returnTo.startsWith('//') ? returnTo : '/';
}

/**
 * Forget the tokens (memory) and end the user pool's session too, so the
 * next person at this browser must sign in: Cognito's `/logout` (its
 * discovery names no end_session_endpoint), else the provider's own.
 */
export async function logout(): Promise<void> {
  const idToken = session.get()?.id_token;
  await userManager.removeUser();
  session.set(null);
  const back = `${location.origin}/signed-out`;
  if (config.loginOrigin) {
    location.assign(`${new URL(config.loginOrigin).origin}/logout?client_id=${encodeURIComponent(config.clientId)}&logout_uri=${encodeURIComponent(back)}`);
    return;
  }
  await userManager.signoutRedirect({ id_token_hint: idToken, post_logout_redirect_uri: back });
}
