/**
 * Where the console finds the staff API and the user pool. Set at build time
 * (`VITE_*` variables, from the stack's outputs in the README's deploy
 * steps); the defaults are the local stack of `make console`.
 */
export const config = {
  apiBase: (import.meta.env.VITE_API_BASE as string | undefined) ?? 'http://127.0.0.1:8787',
  issuer: (import.meta.env.VITE_OIDC_ISSUER as string | undefined) ?? 'http://127.0.0.1:8790',
  clientId: (import.meta.env.VITE_OIDC_CLIENT_ID as string | undefined) ?? 'billing-console',
  /** Cognito's hosted login (its `/logout` ends the pool's session); unset for a provider with end_session_endpoint. */
  loginOrigin: import.meta.env.VITE_OIDC_LOGIN_ORIGIN as string | undefined,
};
