import { SerializedJson } from "@stowage/server-runtime";

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
    generated_at: new Date().toISOString(),
    result: result as Result & Record<string, unknown>,
  };
}

type Envelope<Command extends string, Result extends object> = ReturnType<
  typeof envelope<Command, Result>
>;

const CLOSE = Buffer.from("}");

/** The same envelope around a result serialized already: spliced in, not parsed. */
export function serializedEnvelope<Command extends string, Result extends object>(
  command: Command,
  result: SerializedJson<Result>,
): SerializedJson<Envelope<Command, Result>> {
  const head = Buffer.from(
    `{"schema":"stowage.v1","command":${JSON.stringify(command)},` +
      `"generated_at":"${new Date().toISOString()}","result":`,
  );
  return new SerializedJson(head, ...result.parts, CLOSE);
}
