import { context, propagation, trace } from '@opentelemetry/api';
import type { TracerProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';

/**
 * Makes `provider` the process's tracer provider, with AsyncLocalStorage
 * context and W3C trace context and baggage propagation: what
 * `NodeTracerProvider.register()` did before SDK 3.x, whose `TracerProvider`
 * registers nothing itself. Internal: `startTelemetry` and the package's own
 * tests call it.
 */
export function registerTracerProvider(provider: TracerProvider): void {
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  );
}
