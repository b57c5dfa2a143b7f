// The console's local stack, run inside `tools/local_aws.py run` (which
// provides the local AWS and its environment): the seeded staff API
// verifying the local provider's tokens, the local OpenID provider, and the
// built console on http://127.0.0.1:5173 (`vite preview`).
//
//   node console/dev/stack.mjs                 serve until Ctrl-C (`make console`)
//   node console/dev/stack.mjs -- CMD ARGS...  run CMD against the stack, then stop
//                                              it (`make test-console`); CMD's exit code
//
// Beside them `console_local` (tests/src/bin/console_local.rs) renders and
// archives the documents of new invoices, as the stream pipe and invoice-pdf
// do in AWS; with CONSOLE_SEED_INVOICES=N it first seeds the benchmark's
// customer with N invoices.
//
// Env: BILLING_API_SERVE (the serve binary, default target/debug/examples/serve),
// CONSOLE_LOCAL (default target/debug/console_local), OIDC_ID_TOKEN_TTL
// (passed to the provider), STACK_QUIET (no output of the servers).
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const consoleDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(consoleDir, '..');
const ISSUER = 'http://127.0.0.1:8790';
const ORIGIN = 'http://127.0.0.1:5173';
const target = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : resolve(root, 'target');
const serve = process.env.BILLING_API_SERVE ?? resolve(target, 'debug/examples/serve');
const documents = process.env.CONSOLE_LOCAL ?? resolve(target, 'debug/console_local');

const children = [];
function start(name, cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  const prefix = (chunk) =>
    chunk
      .toString()
      .split('\n')
      .filter((l) => l)
      .map((l) => `[${name}] ${l}\n`)
      .join('');
  if (!process.env.STACK_QUIET) {
    child.stdout.on('data', (c) => process.stdout.write(prefix(c)));
    child.stderr.on('data', (c) => process.stderr.write(prefix(c)));
  }
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`[${name}] exited (${code ?? signal}); stopping the stack`);
      stop(1);
    }
  });
  children.push(child);
  return child;
}

let stopping = false;
function stop(code) {
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  process.exit(code);
}
process.on('SIGINT', () => stop(130));
process.on('SIGTERM', () => stop(143));

function waitForPort(port, timeoutMs = 120_000) {
  const until = Date.now() + timeoutMs;
  return new Promise((ok, fail) => {
    const attempt = () => {
      const s = connect(port, '127.0.0.1');
      s.on('connect', () => {
        s.end();
        ok();
      });
      s.on('error', () => {
        if (Date.now() > until) fail(new Error(`nothing listens on 127.0.0.1:${port}`));
        else setTimeout(attempt, 200);
      });
    };
    attempt();
  });
}

start('oidc', process.execPath, [resolve(consoleDir, 'dev/oidc.mjs')], { env: { ...process.env, CONSOLE_ORIGIN: ORIGIN } });
await waitForPort(8790);
start('api', serve, ['--seed'], {
  env: { ...process.env, LOCAL_OIDC_ISSUER: ISSUER, LOCAL_OIDC_AUDIENCE: 'billing-console', CONSOLE_ORIGIN: ORIGIN },
});
start('documents', documents, process.env.CONSOLE_SEED_INVOICES ? ['--seed-invoices', process.env.CONSOLE_SEED_INVOICES] : []);
start('console', process.execPath, [resolve(consoleDir, 'node_modules/vite/bin/vite.js'), 'preview', '--host', '127.0.0.1', '--port', '5173', '--strictPort'], {
  cwd: consoleDir,
});
await Promise.all([waitForPort(8787), waitForPort(5173)]);

const dash = process.argv.indexOf('--');
if (dash < 0) {
  console.log(`\nconsole: ${ORIGIN}  (sign in as clerk/clerk or sales/sales)`);
  console.log(`staff API: http://127.0.0.1:8787  OpenID provider: ${ISSUER}\nCtrl-C stops everything.`);
} else {
  const [cmd, ...args] = process.argv.slice(dash + 1);
  const run = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, CONSOLE_URL: ORIGIN, API_URL: 'http://127.0.0.1:8787', OIDC_ISSUER: ISSUER } });
  run.on('exit', (code) => stop(code ?? 1));
}
