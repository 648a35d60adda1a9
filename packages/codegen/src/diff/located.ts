import type { OpenApiDocument } from "../load/openapi-document";
import { resolveLocal } from "../model/refs";
import { pointerOfRef } from "./json-pointer";

/** A request body, response or header with the pointer where it is written (its `$ref`'s target). */
export interface Located<T> {
  value: T;
  pointer: string;
}

export function located<T extends object>(
  document: OpenApiDocument,
  raw: T & { $ref?: string },
  pointer: string,
): Located<T> {
  return {
    value: resolveLocal<T>(document, raw),
    pointer: raw.$ref !== undefined ? pointerOfRef(raw.$ref) : pointer,
  };
}
