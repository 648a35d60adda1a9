const NOT_IMPLEMENTED = Symbol.for("stowage.notImplemented");

type Placeholder = ((context: never) => never) & { [NOT_IMPLEMENTED]: string };

/**
 * A placeholder handler (what `stowage-codegen scaffold` writes): the router treats it as absent,
 * so the operation answers 410 Gone at the same point of the refusal order as a missing handler,
 * before the request is validated. Replace it with `async operationId(ctx) { ... }`.
 */
export function notImplemented(operationId: string): Placeholder {
  const placeholder = (() => {
    throw new Error(`${operationId} is a placeholder; the router never calls it`);
  }) as unknown as Placeholder;
  placeholder[NOT_IMPLEMENTED] = operationId;
  return placeholder;
}

export function isPlaceholder(handler: unknown): boolean {
  return typeof handler === "function" && NOT_IMPLEMENTED in handler;
}
