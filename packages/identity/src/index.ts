export {
  OPERATOR_ROLE,
  RESOURCE_SCOPES,
  RESOURCES,
  SERVICE_CLIENTS,
  USER_CLIENT,
} from './clients.js';
export type { ResourceName, ServiceClient } from './clients.js';
export { signInAsUser } from './sign-in.js';
export type { SignInOptions, UserToken } from './sign-in.js';
export { tokenForClient } from './client-credentials.js';
export type { ClientTokenOptions } from './client-credentials.js';
