import type { ApiModel, MediaModel } from "../model/api-model";
import { propertyKey, schemaConstName } from "./identifiers";

const NDJSON = "application/x-ndjson";

type Side = "request" | "response";

/** Operations with an NDJSON body on one side, with the component schema of one line. */
export function ndjsonOperations(
  model: ApiModel,
  side: Side,
): { path: string; method: string; item: string }[] {
  const found: { path: string; method: string; item: string }[] = [];
  for (const operation of model.operations) {
    const media: MediaModel[] =
      side === "request"
        ? (operation.requestBody?.media ?? [])
        : operation.responses.flatMap((response) => response.media);
    const item = media.find((entry) => entry.type === NDJSON && entry.ndjsonItem)?.ndjsonItem;
    if (item) found.push({ path: operation.path, method: operation.method, item });
  }
  return found;
}

/** `{ "/path": { get: components["schemas"]["X"] } }` as a type literal. */
export function ndjsonItemTypes(model: ApiModel, side: Side): string {
  return groupByPath(
    ndjsonOperations(model, side),
    (item) => `components["schemas"][${JSON.stringify(item)}]`,
    ";",
  );
}

/** The same map with zod schemas as values, for runtime validation of each line. */
export function ndjsonItemSchemas(model: ApiModel, side: Side): string {
  return groupByPath(ndjsonOperations(model, side), (item) => schemaConstName(item), ",");
}

function groupByPath(
  entries: { path: string; method: string; item: string }[],
  value: (item: string) => string,
  separator: ";" | ",",
): string {
  const byPath = new Map<string, string[]>();
  for (const { path, method, item } of entries) {
    byPath.set(path, [...(byPath.get(path) ?? []), `${method}: ${value(item)}`]);
  }
  const lines = [...byPath].map(
    ([path, methods]) => `${propertyKey(path)}: { ${methods.join(`${separator} `)} }${separator}`,
  );
  return `{ ${lines.join("\n")} }`;
}
