/** Parses an NDJSON byte stream into values, one per non-empty line, without holding the whole body. */
export async function* parseNdjson(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let buffered = "";
  let lineNumber = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffered += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        lineNumber++;
        if (line !== "") yield parseLine(line, lineNumber);
      }
      if (done) break;
    }
    if (buffered.trim() !== "") yield parseLine(buffered.trim(), lineNumber + 1);
  } finally {
    // An early `break` by the consumer cancels the body, which closes the connection's stream.
    await reader.cancel().catch(() => undefined);
  }
}

function parseLine(line: string, lineNumber: number): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    throw new Error(`NDJSON line ${lineNumber} is not JSON`);
  }
}

/** Encodes items as NDJSON, one line each, as a byte stream for a request body. */
export function encodeNdjson(
  items: AsyncIterable<unknown> | Iterable<unknown>,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const iterator =
    Symbol.asyncIterator in items
      ? (items as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      : (items as Iterable<unknown>)[Symbol.iterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(`${JSON.stringify(next.value)}\n`));
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}
