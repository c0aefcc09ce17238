import {
  GRPC_SERVICE_NAMES,
  UserServiceService,
  UserStatus,
  descriptorSetBase64,
} from '@comms/contracts/grpc';
import type {
  CreateUserRequest,
  DeactivateUserRequest,
  GetUserRequest,
  ListUsersRequest,
  User as ProtoUser,
  UserServiceServer,
  ValidateUserRequest,
} from '@comms/contracts/grpc';
import { actorOf, authorizationOf } from '@comms/auth';
import { AppError, createGrpcServer, unary } from '@comms/service-kit';
import type { GrpcServer, Logger } from '@comms/service-kit';
import { createCallerCheck } from './callers.js';
import type { CallerCheck, CallerPermission } from './callers.js';
import type { User, Users } from './users.js';

const toProto = (user: User): ProtoUser => ({
  id: user.id,
  name: user.name,
  email: user.email,
  status:
    user.status === 'active' ? UserStatus.USER_STATUS_ACTIVE : UserStatus.USER_STATUS_INACTIVE,
  createdAt: user.createdAt,
});

/**
 * user.v1.UserService over the users module, with health and reflection.
 * With `callers` on, every call needs an allowed service's token in its
 * `authorization` metadata (UNAUTHENTICATED / PERMISSION_DENIED otherwise).
 */
export function buildGrpcServer(deps: {
  users: Users;
  logger: Logger;
  callers?: CallerCheck;
}): GrpcServer {
  const { users, logger } = deps;
  const callers = deps.callers ?? createCallerCheck(undefined);
  /**
   * A handler that runs once the caller holds `permission`, given who the
   * caller is as an event's actor (`service:<client id>`; none when off).
   */
  const guarded =
    <Req, Res>(
      permission: CallerPermission,
      handler: (request: Req, caller: { readonly actor: string | undefined }) => Promise<Res>,
    ) =>
    async (request: Req, call: { readonly metadata?: { get(key: string): unknown[] } }) => {
      const actor = actorOf(await callers.check(authorizationOf(call), permission));
      return handler(request, { actor });
    };
  const implementation: UserServiceServer = {
    getUser: unary(
      guarded('users:read', async (request: GetUserRequest) => ({
        user: toProto(await users.get(request.userId)),
      })),
      logger,
    ),
    validateUser: unary(
      guarded('users:read', (request: ValidateUserRequest) => users.validate(request.userId)),
      logger,
    ),
    createUser: unary(
      guarded('users:write', async (request: CreateUserRequest, caller) => ({
        user: toProto(await users.create({ name: request.name, email: request.email, ...caller })),
      })),
      logger,
    ),
    listUsers: unary(
      guarded('users:read', async (request: ListUsersRequest) => {
        if (request.limit < 0)
          throw new AppError('INVALID_ARGUMENT', `limit must be 1-100, got ${request.limit}`);
        const page = await users.list({
          ...(request.limit === 0 ? {} : { limit: request.limit }),
          cursor: request.cursor,
        });
        return { users: page.items.map(toProto), nextCursor: page.nextCursor ?? '' };
      }),
      logger,
    ),
    deactivateUser: unary(
      guarded('users:write', async (request: DeactivateUserRequest, caller) => ({
        user: toProto(await users.deactivate(request.userId, caller)),
      })),
      logger,
    ),
  };
  return createGrpcServer({
    services: [{ name: GRPC_SERVICE_NAMES.user, definition: UserServiceService, implementation }],
    descriptorSetBase64,
    logger,
  });
}
