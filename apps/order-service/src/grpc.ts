import {
  GRPC_SERVICE_NAMES,
  OrderServiceService,
  OrderStatus,
  descriptorSetBase64,
} from '@comms/contracts/grpc';
import type {
  CreateOrderRequest,
  CreateOrderResponse,
  GetOrderRequest,
  OrderServiceServer,
} from '@comms/contracts/grpc';
import { actorOf, authorizationOf } from '@comms/auth';
import { createGrpcServer, unary } from '@comms/service-kit';
import type { GrpcServer, Logger } from '@comms/service-kit';
import { createOrderAccess } from './access.js';
import type { OrderAccess } from './access.js';
import type { OrderStatus as Status } from './domain/order.js';
import { checkNewOrder, OrderRejected } from './orders.js';
import type { Orders } from './orders.js';

const STATUS: Record<Status, OrderStatus> = {
  CREATED: OrderStatus.ORDER_STATUS_CREATED,
  PAID: OrderStatus.ORDER_STATUS_PAID,
  SHIPPED: OrderStatus.ORDER_STATUS_SHIPPED,
  CANCELLED: OrderStatus.ORDER_STATUS_CANCELLED,
};

/**
 * order.v1.OrderService over the orders module, with health and reflection.
 * With `access` on, each call needs `authorization: Bearer <token>` in its
 * metadata (UNAUTHENTICATED otherwise) and obeys the same rules as REST
 * (PERMISSION_DENIED naming the permission).
 */
export function buildGrpcServer(deps: {
  orders: Orders;
  logger: Logger;
  access?: OrderAccess;
}): GrpcServer {
  const { orders, logger } = deps;
  const access = deps.access ?? createOrderAccess(undefined);
  const implementation: OrderServiceServer = {
    createOrder: unary(async (request: CreateOrderRequest, call): Promise<CreateOrderResponse> => {
      const principal = await access.authenticate(authorizationOf(call));
      // As over REST: who you are, then whether the request is well formed, then whether you may.
      checkNewOrder(request);
      access.create(principal, request.userId);
      const actor = actorOf(principal);
      try {
        const created = await orders.create({
          userId: request.userId,
          items: request.items,
          ...(request.idempotencyKey === '' ? {} : { idempotencyKey: request.idempotencyKey }),
          ...(actor === undefined ? {} : { actor }),
        });
        return {
          orderId: created.orderId,
          status: OrderStatus.ORDER_STATUS_CREATED,
          userName: created.userName,
          totalAmount: created.totalAmount,
          errorMessage: '',
        };
      } catch (error) {
        // An unknown or inactive user is an answer, not a transport failure.
        if (error instanceof OrderRejected) {
          return {
            orderId: '',
            status: OrderStatus.ORDER_STATUS_REJECTED,
            userName: '',
            totalAmount: '',
            errorMessage: error.message,
          };
        }
        throw error;
      }
    }, logger),
    getOrder: unary(async (request: GetOrderRequest, call) => {
      const principal = await access.authenticate(authorizationOf(call));
      const order = await access.read(principal, request.orderId, () =>
        orders.get(request.orderId),
      );
      return { order: { ...order, status: STATUS[order.status], items: [...order.items] } };
    }, logger),
  };
  return createGrpcServer({
    services: [{ name: GRPC_SERVICE_NAMES.order, definition: OrderServiceService, implementation }],
    descriptorSetBase64,
    logger,
  });
}
