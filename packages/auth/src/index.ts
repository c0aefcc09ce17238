export { bearerChallenge } from './challenge.js';
export { authorizationOf } from './metadata.js';
export { assertRole, assertService, assertUser } from './principal.js';
export type { Principal } from './principal.js';
export { createTokenClient, credentialFor } from './token-client.js';
export type { CalleeCredential, TokenClient, TokenClientOptions } from './token-client.js';
export { createTokenVerifier } from './verifier.js';
export type { TokenVerifier, TokenVerifierOptions } from './verifier.js';
