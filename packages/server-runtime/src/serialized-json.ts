/**
 * A JSON body serialized already (UTF-8), typed by what it parses to. A handler that keeps its
 * answer as JSON (stored representations, a page spliced from stored items, a cached page)
 * returns one instead of the object, and the router writes the bytes as they are: no parse, no
 * `JSON.stringify`, no encoding. When responses are validated the router parses them and checks
 * them like any other body, so tests see no difference.
 */
export class SerializedJson<T> {
  /** Only a type: what the bytes parse to, so a reply's bytes are checked against the spec's. */
  declare private readonly shape?: T;

  constructor(readonly bytes: Buffer) {}
}
