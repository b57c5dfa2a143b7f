// The local OpenID provider for `make console` and the console's e2e tests
// (console/CONSOLE-CONTRACT: issuer http://127.0.0.1:8790). It stands in for
// the Cognito user pool: authorization code + PKCE for the public client
// `billing-console`, RS256 ID tokens carrying `cognito:groups` and `email`
// like Cognito's, keys published at `<issuer>/jwks`. So the login code the
// console ships is the code the tests run.
//
// Users (password = user name): `clerk` (group billing), `sales` (group sales).
// Env: OIDC_PORT (8790), CONSOLE_ORIGIN (http://127.0.0.1:5173),
// OIDC_ID_TOKEN_TTL seconds (3600; the e2e test shortens it to see an expired
// session return to the login).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT ?? 8790);
const issuer = `http://127.0.0.1:${port}`;
const consoleOrigin = process.env.CONSOLE_ORIGIN ?? 'http://127.0.0.1:5173';
const idTokenTtl = Number(process.env.OIDC_ID_TOKEN_TTL ?? 3600);

/** The staff the local pool knows; the password is the user name. */
const USERS = {
  clerk: { groups: ['billing'], email: 'clerk@example.test' },
  sales: { groups: ['sales'], email: 'sales@example.test' },
};

// A fresh signing key per start: tokens of an earlier run no longer verify.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'billing-console',
      token_endpoint_auth_method: 'none',
      application_type: 'web',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [`${consoleOrigin}/callback`],
      post_logout_redirect_uris: [`${consoleOrigin}/signed-out`],
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: { keys: [signingKey] },
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile'],
  // Cognito puts the groups into every ID token; so does this provider.
  claims: { openid: ['sub', 'cognito:groups'], email: ['email', 'email_verified'] },
  conformIdTokenClaims: false,
  ttl: { IdToken: idTokenTtl, AccessToken: idTokenTtl, Session: 8 * 3600, Interaction: 600, Grant: 8 * 3600 },
  features: { devInteractions: { enabled: false } },
  clientBasedCORS: (_ctx, origin) => origin === consoleOrigin,
  cookies: { keys: [randomUUID()] },
  findAccount: async (_ctx, id) => {
    const user = USERS[id];
    if (!user) return undefined;
    return {
      accountId: id,
      claims: async () => ({ sub: id, email: user.email, email_verified: true, 'cognito:groups': user.groups }),
    };
  },
  // First-party staff console: consent is implied (as with a Cognito app client).
  loadExistingGrant: async (ctx) => {
    const clientId = ctx.oidc.client.clientId;
    const existing = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(clientId);
    if (existing) return ctx.oidc.provider.Grant.find(existing);
    const grant = new ctx.oidc.provider.Grant({ clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    grant.addOIDCClaims(['cognito:groups', 'email', 'email_verified']);
    await grant.save();
    ctx.oidc.session.grantIdFor(clientId, grant.jti);
    return grant;
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Error', `<h1>Sign-in error</h1><pre>${escape(JSON.stringify(out, null, 2))}</pre>`);
  },
});
provider.proxy = false;

function escape(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto}label{display:block;margin:.8rem 0}
input{display:block;width:100%;padding:.4rem;font-size:1rem}button{padding:.5rem 1rem;font-size:1rem}.err{color:#a00}</style>
</head><body><main>${body}</main></body></html>`;
}

function loginForm(uid, error) {
  return page(
    'Sign in',
    `<h1>Sign in (local user pool)</h1>
${error ? `<p class="err" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label for="username">User name<input id="username" name="username" autocomplete="username" required autofocus></label>
<label for="password">Password<input id="password" name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form>
<p>Users: clerk / clerk (billing), sales / sales (sales).</p>`,
  );
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

const callback = provider.callback();

const server = createServer(async (req, res) => {
  const match = /^\/interaction\/([^/]+)(\/login)?$/.exec(req.url.split('?')[0]);
  if (!match) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name !== 'login') {
      // Consent is granted by loadExistingGrant; nothing to ask.
      return provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
    }
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(loginForm(match[1]));
    }
    const form = await readForm(req);
    const username = form.get('username') ?? '';
    if (!USERS[username] || form.get('password') !== username) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(loginForm(match[1], 'Wrong user name or password.'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: username } }, { mergeWithLastSubmission: false });
  } catch (err) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`interaction failed: ${err.message}`);
  }
});

server.listen(port, '127.0.0.1', () => {
  console.log(`local OpenID provider: ${issuer} (users clerk/clerk, sales/sales)`);
});
