import { SerializedJson } from "@stowage/server-runtime";
import { nowIso } from "../services/identifiers";

/**
 * DESIGN section 4: every JSON success under /v1 (except JSON Home) is wrapped in this envelope.
 * The spec's base envelope types `result` as an open object (`Record<string, unknown>`), which
 * TypeScript interfaces do not satisfy by themselves; every result is an object, so it is asserted.
 */
export function envelope<Command extends string, Result extends object>(
  command: Command,
  result: Result,
) {
  return {
    schema: "stowage.v1" as const,
    command,
    generated_at: nowIso(),
    result: result as Result & Record<string, unknown>,
  };
}

type Envelope<Command extends string, Result extends object> = ReturnType<
  typeof envelope<Command, Result>
>;

const CLOSE = Buffer.from("}");

/** The last head written: answers of one command in one millisecond share it. */
let lastHead: { command: string; at: string; bytes: Buffer } | undefined;

/** The same envelope around a result serialized already: spliced in, not parsed. */
export function serializedEnvelope<Command extends string, Result extends object>(
  command: Command,
  result: SerializedJson<Result>,
): SerializedJson<Envelope<Command, Result>> {
  const at = nowIso();
  if (lastHead?.command !== command || lastHead.at !== at) {
    const bytes = Buffer.from(
      `{"schema":"stowage.v1","command":${JSON.stringify(command)},"generated_at":"${at}","result":`,
    );
    lastHead = { command, at, bytes };
  }
  return new SerializedJson(lastHead.bytes, ...result.parts, CLOSE);
}
