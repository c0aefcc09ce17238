import { describe, expect, it } from 'vitest';
import { replacingProducer } from './producer-state.js';

/** A producer that fails its sends with the given kafkajs error types, in turn, then succeeds. */
function fakes(failures: (string | undefined)[]) {
  const made: { id: number; sent: string[]; closed: boolean }[] = [];
  const make = () => {
    const me = { id: made.length + 1, sent: [] as string[], closed: false };
    made.push(me);
    return {
      connect: () => Promise.resolve(),
      send: (message: string) => {
        const failure = failures.shift();
        if (failure !== undefined)
          return Promise.reject(
            Object.assign(new Error(`broker says ${failure}`), { type: failure }),
          );
        me.sent.push(message);
        return Promise.resolve();
      },
      disconnect: () => {
        me.closed = true;
        return Promise.resolve();
      },
    };
  };
  return { made, make };
}

describe('an idempotent producer whose state the broker lost', () => {
  it('given an out-of-order sequence error, then that send fails and the next goes through a new producer', async () => {
    const { made, make } = fakes(['OUT_OF_ORDER_SEQUENCE_NUMBER']);
    const replaced: string[] = [];
    const producer = replacingProducer(make, (reason) => replaced.push(reason));
    await producer.connect();
    await expect(producer.send('a')).rejects.toThrow(/OUT_OF_ORDER_SEQUENCE_NUMBER/);
    await producer.send('a');
    expect(made.map((p) => [p.id, p.sent, p.closed])).toEqual([
      [1, [], true],
      [2, ['a'], false],
    ]);
    expect(replaced).toEqual(['OUT_OF_ORDER_SEQUENCE_NUMBER']);
  });

  it('given any other failure, then the producer is kept', async () => {
    const { made, make } = fakes(['REQUEST_TIMED_OUT', undefined]);
    const producer = replacingProducer(make);
    await producer.connect();
    await expect(producer.send('a')).rejects.toThrow(/REQUEST_TIMED_OUT/);
    await producer.send('b');
    expect(made).toHaveLength(1);
    expect(made[0]?.sent).toEqual(['b']);
  });
});
