export { bearerChallenge } from './challenge.js';
export { authorizationOf } from './metadata.js';
export { assertRole, assertService, assertUser } from './principal.js';
export type { Principal } from './principal.js';
export { createTokenClient } from './token-client.js';
export type { TokenClient, TokenClientOptions } from './token-client.js';
export { createTokenVerifier } from './verifier.js';
export type { TokenVerifier, TokenVerifierOptions } from './verifier.js';
