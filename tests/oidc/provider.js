// A real OpenID Connect provider for Sillage's single sign-on tests: panva's certified oidc-provider,
// listening on 127.0.0.1 only. Configured by one JSON file (argv[2]) written by tests/oidc/server.py:
//   {"port": 0, "jwks": {"keys": [<private JWK>]}, "clients": [...], "accounts": {"<login>": {claims}}}
// The signing key comes from the test so that it can also sign tokens with the provider's own key and
// wrong claims (audience, issuer, expiry): Sillage must refuse those although the signature is good.
// Interactions are oidc-provider's development pages (a login form, then a consent form), which the
// tests fill in over HTTP or with a browser; only the accounts listed here can sign in.
// Prints "READY <issuer>" once it listens.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts || {};

const server = createServer();
server.listen(config.port || 0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: config.clients,
    jwks: config.jwks,
    cookies: { keys: [config.cookieKey || 'sillage-test-cookie-key-0123456789'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    ttl: { AuthorizationCode: 60, IdToken: 300, AccessToken: 300, Interaction: 600, Session: 600, Grant: 600 },
    async findAccount(ctx, id) {
      if (!Object.hasOwn(accounts, id)) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...accounts[id] }; } };
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  console.log(`READY ${issuer}`);
});
