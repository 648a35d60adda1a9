/** Appends path segments to a JSON pointer (RFC 6901: `~` is `~0`, `/` is `~1`). */
export function childPointer(pointer: string, ...segments: (string | number)[]): string {
  return segments.reduce<string>(
    (current, segment) => `${current}/${String(segment).replace(/~/g, "~0").replace(/\//g, "~1")}`,
    pointer,
  );
}

/** The pointer a local `$ref` names (`#/components/schemas/X` -> `/components/schemas/X`). */
export function pointerOfRef(ref: string): string {
  return ref.startsWith("#") ? ref.slice(1) : ref;
}
