// A real, certified OpenID Provider (panva's oidc-provider) for the single sign-on tests.
//
//   node tests/oidc/provider.mjs <config.json>
//
// The config file names the port, the one confidential client (id, secret, redirect
// and post-logout redirect URIs) and the path of an accounts file. The accounts file
// maps each account's stable `sub` (the login name typed at the provider) to its claims
// (email, name); it is read again at every look-up,
// so a test can change a person's name or email "at the provider" while it runs.
// Signing keys (RS256) are made at start and never written anywhere. The built-in
// development interactions ask for a login (a `sub` from the accounts file as the login name,
// any password) and for consent. It listens on 127.0.0.1 only and prints "ready" when it is.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };

function accounts() {
  return JSON.parse(readFileSync(config.accounts, 'utf8'));
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: config.client_id,
      client_secret: config.client_secret,
      redirect_uris: [config.redirect_uri],
      post_logout_redirect_uris: [config.post_logout_redirect_uri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: { keys: [signingKey] },
  // PKCE is required of every client here, confidential ones too (the default asks it
  // only of public clients), so the tests prove the relying party sends it.
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  cookies: { keys: [randomUUID()] },
  async findAccount(ctx, id) {
    const account = accounts()[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { ...account, sub: id };
      },
    };
  },
});
const server = provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
