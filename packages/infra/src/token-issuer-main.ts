#!/usr/bin/env node
import { tokenIssuerEnv } from './config.js';
import { describeError } from './errors.js';
import { createTokenIssuer } from './token-issuer.js';

// The token issuer's own process (started by startTokenIssuer, npm run infra and the test infra).
try {
  const config = tokenIssuerEnv();
  const issuer = await createTokenIssuer({ ...config, log: (line) => console.log(line) });
  console.log(
    `token issuer ${issuer.url} listening on ${config.host}:${String(issuer.port)} (kid ${issuer.kid})`,
  );
  const stop = () => {
    void issuer.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (error) {
  console.error(describeError(error));
  process.exit(1);
}
