/** How a change affects existing clients of the API. */
export type ChangeKind = "breaking" | "non-breaking" | "deprecation";

/**
 * Who sends the data a schema describes. A request is written by clients and read by the server,
 * a response the other way round, so the same edit is judged in opposite directions: narrowing
 * what a request accepts breaks clients, narrowing what a response can hold does not.
 */
export type Direction = "request" | "response";

/** The operation a change affects, as both sides of the diff know it. */
export interface OperationRef {
  /** The head's operationId (the base's, when the operation was removed). */
  operationId?: string;
  method: string;
  /** The head's path template (the base's, when the path was removed). */
  path: string;
}

export interface SpecChange {
  kind: ChangeKind;
  /** A stable id of the rule that classified the change, e.g. `property.removed`. */
  rule: string;
  /**
   * JSON pointer to where the change is in the bundled head spec, or in the base spec when the
   * thing was removed; inside a `$ref`'d schema it points into `components`.
   */
  pointer: string;
  operation: OperationRef;
  /** Where in the operation, e.g. `response 200 application/json`; empty for the operation itself. */
  where: string;
  /** One line a reviewer reads. */
  reason: string;
}
