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
import { AppError, createGrpcServer, unary } from '@comms/service-kit';
import type { GrpcServer, Logger } from '@comms/service-kit';
import type { User, Users } from './users.js';

const toProto = (user: User): ProtoUser => ({
  id: user.id,
  name: user.name,
  email: user.email,
  status:
    user.status === 'active' ? UserStatus.USER_STATUS_ACTIVE : UserStatus.USER_STATUS_INACTIVE,
  createdAt: user.createdAt,
});

/** user.v1.UserService over the users module, with health and reflection. */
export function buildGrpcServer(deps: { users: Users; logger: Logger }): GrpcServer {
  const { users, logger } = deps;
  const implementation: UserServiceServer = {
    getUser: unary(
      async (request: GetUserRequest) => ({ user: toProto(await users.get(request.userId)) }),
      logger,
    ),
    validateUser: unary((request: ValidateUserRequest) => users.validate(request.userId), logger),
    createUser: unary(
      async (request: CreateUserRequest) => ({
        user: toProto(await users.create({ name: request.name, email: request.email })),
      }),
      logger,
    ),
    listUsers: unary(async (request: ListUsersRequest) => {
      if (request.limit < 0)
        throw new AppError('INVALID_ARGUMENT', `limit must be 1-100, got ${request.limit}`);
      const page = await users.list({
        ...(request.limit === 0 ? {} : { limit: request.limit }),
        cursor: request.cursor,
      });
      return { users: page.items.map(toProto), nextCursor: page.nextCursor ?? '' };
    }, logger),
    deactivateUser: unary(
      async (request: DeactivateUserRequest) => ({
        user: toProto(await users.deactivate(request.userId)),
      }),
      logger,
    ),
  };
  return createGrpcServer({
    services: [{ name: GRPC_SERVICE_NAMES.user, definition: UserServiceService, implementation }],
    descriptorSetBase64,
    logger,
  });
}
