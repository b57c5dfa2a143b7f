import { loadEnv, type Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

/**
 * A Content-Security-Policy in the built index.html naming the exact origins
 * the console talks to: the staff API and the user pool (its issuer, for
 * discovery and keys, and its login domain, for the token endpoint). In AWS
 * CloudFront's header policy adds the rest (frame-ancestors, HSTS, …) and
 * allows execute-api hosts by wildcard; the browser enforces both policies,
 * so this one narrows the API to its one origin (infra/template.yaml).
 */
function contentSecurityPolicy(env: Record<string, string>): Plugin {
  const origin = (url: string) => new URL(url).origin;
  const connect = new Set([
    "'self'",
    origin(env.VITE_API_BASE ?? 'http://127.0.0.1:8787'),
    origin(env.VITE_OIDC_ISSUER ?? 'http://127.0.0.1:8790'),
    ...(env.VITE_OIDC_LOGIN_ORIGIN ? [origin(env.VITE_OIDC_LOGIN_ORIGIN)] : []),
  ]);
  const policy = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${[...connect].join(' ')}`,
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
  ].join('; ');
  return {
    name: 'console-csp',
    apply: 'build',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: policy }, injectTo: 'head-prepend' }],
  };
}

// No framework plugin: esbuild compiles the JSX for Preact directly.
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), 'VITE_');
  return {
    plugins: [contentSecurityPolicy(env)],
    esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
    build: { target: 'es2022', sourcemap: false, outDir: 'dist' },
    server: { host: '127.0.0.1', port: 5173, strictPort: true },
    preview: { host: '127.0.0.1', port: 5173, strictPort: true },
    test: { environment: 'jsdom', include: ['src/**/*.test.ts'] },
  };
});
