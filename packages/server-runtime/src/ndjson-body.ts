import type { Readable } from "node:stream";
import { ApiError } from "./api-error";

export interface LineSchema {
  safeParse(
    value: unknown,
  ):
    | { success: true; data: unknown }
    | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

/** One line of an NDJSON request body: the validated value and the line as it was sent. */
export interface NdjsonLine<T> {
  value: T;
  /** The line's text without its line break (`\n` or `\r\n`): a consumer can store it as is. */
  text: string;
}

/**
 * An NDJSON request body, read line by line as it is consumed and each line validated against
 * its item schema; a bad line is a 400 naming the line. Memory holds one chunk of the request
 * at a time, however large the body. It can be consumed once, either way:
 * - as an `AsyncIterable` of the values, what a generated handler's type promises;
 * - through `ndjsonLines`, in batches (the lines of one chunk read from the request) with their
 *   text: a consumer that stores lines as sent need not serialize each value again (16% of the
 *   log route's CPU time in scripts/bench/agent-logs.ts), nor await a promise per line in each
 *   async generator between the socket and its store.
 */
export class NdjsonRequestBody<T> implements AsyncIterable<T> {
  constructor(
    private readonly stream: Readable,
    private readonly schema: LineSchema | undefined,
  ) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for await (const batch of this.batches()) for (const line of batch) yield line.value;
  }

  async *batches(): AsyncGenerator<NdjsonLine<T>[]> {
    let rest = "";
    let lineNumber = 0;
    this.stream.setEncoding("utf8");
    for await (const chunk of this.stream as AsyncIterable<string>) {
      const text = rest + chunk;
      const batch: NdjsonLine<T>[] = [];
      let start = 0;
      let newline: number;
      while ((newline = text.indexOf("\n", start)) >= 0) {
        lineNumber++;
        const line = this.parseLine(text.slice(start, newline), lineNumber);
        if (line) batch.push(line);
        start = newline + 1;
      }
      rest = text.slice(start);
      if (batch.length > 0) yield batch;
    }
    const last = this.parseLine(rest, lineNumber + 1);
    if (last) yield [last];
  }

  /** The line parsed and validated; `undefined` for a blank line. */
  private parseLine(raw: string, lineNumber: number): NdjsonLine<T> | undefined {
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (text.trim() === "") return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new ApiError(400, "request.invalid", `NDJSON line ${lineNumber} is not JSON.`, {
        details: [{ path: `/body/${lineNumber}`, message: "is not JSON" }],
      });
    }
    if (!this.schema) return { value: value as T, text };
    const result = this.schema.safeParse(value);
    if (result.success) return { value: result.data as T, text };
    throw new ApiError(
      400,
      "request.invalid",
      `NDJSON line ${lineNumber} does not match the contract.`,
      {
        details: result.error.issues.map((issue) => ({
          path: ["/body", lineNumber, ...issue.path].map(String).join("/"),
          message: issue.message,
        })),
      },
    );
  }
}

export function readNdjsonBody(
  stream: Readable,
  schema: LineSchema | undefined,
): NdjsonRequestBody<unknown> {
  return new NdjsonRequestBody(stream, schema);
}

/**
 * The lines of an NDJSON request body in batches, each with its text. A body that did not come
 * from the router (a handler called directly) has no text: each value is serialized.
 */
export async function* ndjsonLines<T>(body: AsyncIterable<T>): AsyncGenerator<NdjsonLine<T>[]> {
  if (body instanceof NdjsonRequestBody) {
    yield* (body as NdjsonRequestBody<T>).batches();
    return;
  }
  for await (const value of body) yield [{ value, text: JSON.stringify(value) }];
}
