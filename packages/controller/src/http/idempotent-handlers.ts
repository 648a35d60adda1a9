import { operationDescriptors, type ControlHandlers } from "@stowage/control-server";
import type { IdempotencyService, RecordedReply } from "../services/idempotency";
import type { OperatorPrincipal } from "../services/principal";

type Handlers = Partial<ControlHandlers<OperatorPrincipal>>;
type AnyHandler = (ctx: IdempotentContext) => unknown;
interface IdempotentContext {
  principal: OperatorPrincipal;
  headers: Record<string, unknown>;
  body: unknown;
  accept?: string;
}

/**
 * Every operation whose spec declares an `Idempotency-Key` header gets it, in one place: the
 * handler runs inside the idempotency record's transaction (handlers of creates are synchronous),
 * and a retry with the same key and body replays the first answer. A streamed answer (NDJSON)
 * cannot be replayed, so those requests run as if they had no key.
 */
export function withIdempotency(handlers: Handlers, idempotency: IdempotencyService): Handlers {
  const wrapped: Record<string, unknown> = { ...handlers };
  for (const [operationId, descriptor] of Object.entries(operationDescriptors)) {
    const takesKey = descriptor.parameters.some(
      (parameter) =>
        parameter.in === "header" && parameter.name.toLowerCase() === "idempotency-key",
    );
    const handler = (handlers as Record<string, AnyHandler | undefined>)[operationId];
    if (!takesKey || !handler) continue;
    wrapped[operationId] = (ctx: IdempotentContext) => {
      const key = ctx.headers["idempotency-key"];
      if (typeof key !== "string" || ctx.accept === "application/x-ndjson") return handler(ctx);
      return idempotency.run(
        { principal: ctx.principal.tokenId, key, operation: operationId, body: ctx.body },
        () => {
          const reply = handler(ctx);
          if (reply instanceof Promise)
            throw new Error(`${operationId} must answer synchronously to be idempotent`);
          return reply as RecordedReply;
        },
      );
    };
  }
  return wrapped as Handlers;
}
