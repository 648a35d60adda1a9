/**
 * A JSON body serialized already (UTF-8), typed by what it parses to. A handler that keeps its
 * answer as JSON (stored representations, a page spliced from stored items, a cached page)
 * returns one instead of the object, and the router writes the bytes as they are: no parse, no
 * `JSON.stringify`, no encoding. It may come in parts (a per-request head around a cached
 * result): they are written one after another, never copied into one buffer. When responses
 * are validated the router parses them and checks them like any other body, so tests see no
 * difference.
 */
export class SerializedJson<T> {
  /** Only a type: what the bytes parse to, so a reply's bytes are checked against the spec's. */
  declare private readonly shape?: T;
  readonly parts: readonly Buffer[];
  readonly byteLength: number;

  constructor(...parts: Buffer[]) {
    this.parts = parts;
    this.byteLength = parts.reduce((total, part) => total + part.length, 0);
  }

  /** The whole body in one buffer (a copy when it is in several parts). */
  get bytes(): Buffer {
    return this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.byteLength);
  }
}
