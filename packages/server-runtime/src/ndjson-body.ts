import type { Readable } from "node:stream";
import { ApiError } from "./api-error";

export interface LineSchema {
  safeParse(
    value: unknown,
  ):
    | { success: true; data: unknown }
    | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

/**
 * Reads an NDJSON request body line by line, validating each against its item schema: memory holds
 * one line at a time, however large the body. A bad line is a 400 naming the line.
 */
export async function* readNdjsonBody(
  stream: Readable,
  schema: LineSchema | undefined,
): AsyncGenerator<unknown> {
  let buffered = "";
  let lineNumber = 0;
  stream.setEncoding("utf8");
  for await (const chunk of stream as AsyncIterable<string>) {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      lineNumber++;
      if (line.trim() !== "") yield parseLine(line, lineNumber, schema);
    }
  }
  if (buffered.trim() !== "") yield parseLine(buffered, lineNumber + 1, schema);
}

function parseLine(line: string, lineNumber: number, schema: LineSchema | undefined): unknown {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ApiError(400, "request.invalid", `NDJSON line ${lineNumber} is not JSON.`, {
      details: [{ path: `/body/${lineNumber}`, message: "is not JSON" }],
    });
  }
  if (!schema) return value;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
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
