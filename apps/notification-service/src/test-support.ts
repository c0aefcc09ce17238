// For the integration tests only (tsconfig.build.json leaves it out of dist):
// events as user-service and order-service publish them.
import { randomUUID } from 'node:crypto';
import { createEvent } from '@comms/contracts';
import type { AnyEvent } from '@comms/contracts';
import type { KafkaProducer } from '@comms/kafka';
import { uniqueName } from '@comms/testing';

/** A user.registered.v1 event with a unique email; `actor` as the CloudEvents attribute. */
export function userRegistered(
  userId: string = randomUUID(),
  options: { readonly name?: string; readonly actor?: string } = {},
) {
  return createEvent('user.registered.v1', {
    source: '/user-service',
    subject: userId,
    ...(options.actor === undefined ? {} : { actor: options.actor }),
    data: {
      userId,
      name: options.name ?? 'Ada Lovelace',
      email: `${uniqueName('reader')}@example.com`,
      registeredAt: new Date().toISOString(),
    },
  });
}

/** An order.created.v1 event for `userId`: one book, a new order id unless given. */
export function orderCreated(
  userId: string,
  options: { readonly orderId?: string; readonly actor?: string } = {},
) {
  const orderId = options.orderId ?? randomUUID();
  return createEvent('order.created.v1', {
    source: '/order-service',
    subject: orderId,
    ...(options.actor === undefined ? {} : { actor: options.actor }),
    data: {
      orderId,
      userId,
      userName: 'someone',
      items: [{ productId: 'book', quantity: 1, price: '19.99' }],
      totalAmount: '19.99',
      createdAt: new Date().toISOString(),
    },
  });
}

/** Sends events to `topic`, each keyed by its subject, as the services do. */
export function publishEvents(
  producer: KafkaProducer,
  topic: string,
  ...events: AnyEvent[]
): Promise<void> {
  return producer.send(
    topic,
    events.map((event) => ({ key: event.subject, value: JSON.stringify(event) })),
  );
}
