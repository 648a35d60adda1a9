import type { Response } from "express";
import type { LineSchema } from "./ndjson-body";

export interface NdjsonWriterOptions {
  /** Validate each frame against the item schema (tests always do). */
  schema?: LineSchema;
  /** Called with a frame that breaks the contract; the stream then ends. */
  onInvalidFrame?: (issues: string) => void;
  /** The last frame of a stream whose producer failed (DESIGN section 4: a failed stream ends with an error frame). */
  errorFrame?: (error: unknown) => unknown;
}

/**
 * Writes items as NDJSON frames, honouring backpressure, and stops the producer (its `return()`)
 * as soon as the client goes away, so a follow stream never writes into a closed socket.
 */
export async function writeNdjson(
  res: Response,
  items: AsyncIterable<unknown>,
  options: NdjsonWriterOptions,
): Promise<void> {
  const iterator = items[Symbol.asyncIterator]();
  const closed = new Promise<void>((resolve) => res.once("close", resolve));
  let open = true;
  void closed.then(() => {
    open = false;
  });
  res.flushHeaders();
  try {
    while (open) {
      let next: IteratorResult<unknown> | undefined;
      try {
        next = await Promise.race([iterator.next(), closed.then(() => undefined)]);
      } catch (error) {
        if (open && options.errorFrame) res.write(`${JSON.stringify(options.errorFrame(error))}\n`);
        break;
      }
      if (!next || next.done || !open) break;
      if (options.schema) {
        const result = options.schema.safeParse(next.value);
        if (!result.success) {
          options.onInvalidFrame?.(
            result.error.issues
              .map((issue) => `${issue.path.join("/")}: ${issue.message}`)
              .join("; "),
          );
          res.destroy();
          break;
        }
      }
      if (!res.write(`${JSON.stringify(next.value)}\n`)) {
        await Promise.race([new Promise((resolve) => res.once("drain", resolve)), closed]);
      }
    }
  } finally {
    await iterator.return?.();
    if (open) res.end();
  }
}
