export { bearerChallenge } from './challenge.js';
export { challengeOnError } from './http-challenge.js';
export { authorizationOf } from './metadata.js';
export { actorOf, assertRole, assertService, assertUser } from './principal.js';
export type { Principal } from './principal.js';
export { createTokenClient, credentialFor } from './token-client.js';
export type { CalleeCredential, TokenClient, TokenClientOptions } from './token-client.js';
export {
  CLIENT_CREDENTIALS,
  createTokenVerifier,
  MIN_KEYS_COOLDOWN_MS,
  SERVICE_GRANT_CLAIM,
  TOKEN_PROFILES,
} from './verifier.js';
export type { TokenProfile, TokenVerifier, TokenVerifierOptions } from './verifier.js';
export { bearer, localTokens } from './local-tokens.js';
export type { LocalTokens, LocalTokensOptions } from './local-tokens.js';
