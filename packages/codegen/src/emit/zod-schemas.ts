import type { JsonValue, OpenApiDocument, SchemaObject } from "../load/openapi-document";
import type { ApiModel } from "../model/api-model";
import { resolveLocal, schemaNameOfRef } from "../model/refs";
import { generatedHeader } from "./header";
import { propertyKey, schemaConstName } from "./identifiers";

/**
 * One zod schema per component schema, mirroring openapi-typescript's reading of the same
 * document (its discriminator patches included: `typesDocument` is the copy it transformed), and
 * a compile-time proof per schema that `z.infer` equals the openapi-typescript type.
 */
export function emitZodSchemas(model: ApiModel, typesDocument: OpenApiDocument): string {
  const schemas = typesDocument.components?.schemas ?? {};
  const order = dependencyOrder(schemas);
  const emitter = new ZodEmitter(typesDocument, order.cyclic);
  const constants = order.names.map((name) => {
    const constName = schemaConstName(name);
    const expression = emitter.expression(schemas[name]);
    return order.cyclic.has(name)
      ? `export const ${constName}: z.ZodType<Schemas[${JSON.stringify(name)}]> = z.lazy(() => ${expression});`
      : `export const ${constName} = ${expression};`;
  });
  const table = model.schemaNames.map((name) => `${propertyKey(name)}: ${schemaConstName(name)},`);
  const proofs = model.schemaNames.map(
    (name) =>
      `type _${schemaConstName(name)}MatchesType = Assert<Equals<DeepSimplify<z.infer<typeof ${schemaConstName(name)}>>, DeepSimplify<Schemas[${JSON.stringify(name)}]>>>;`,
  );
  return [
    generatedHeader(model),
    'import { z } from "zod";',
    'import type { components } from "./types";',
    "",
    'type Schemas = components["schemas"];',
    "",
    ...constants,
    "",
    "/** Every component schema by its name in the spec. */",
    `export const schemas = {${table.join("\n")}} as const;`,
    "",
    "// Compile-time proof that each zod schema infers exactly the openapi-typescript type.",
    "// Mutual assignability would miss a dropped optional property; a plain Equals fails on A & B.",
    "type DeepSimplify<T> = T extends readonly (infer U)[] ? DeepSimplify<U>[] : T extends object ? { -readonly [K in keyof T]: DeepSimplify<T[K]> } : T;",
    "type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;",
    "type Assert<T extends true> = T;",
    ...proofs,
    "",
  ].join("\n");
}

class ZodEmitter {
  constructor(
    private readonly document: OpenApiDocument,
    private readonly cyclic: Set<string>,
  ) {}

  expression(schema: SchemaObject | boolean | undefined): string {
    if (schema === undefined || schema === true) return "z.unknown()";
    if (schema === false) return "z.never()";
    if (schema.$ref) return this.reference(schema.$ref);
    return this.withNullable(schema, this.core(schema));
  }

  private reference(ref: string): string {
    const name = schemaNameOfRef(ref);
    // A cyclic member's constant is typed `z.ZodType`, which `.required()` and friends lack; lazy keeps order free.
    return this.cyclic.has(name) ? `z.lazy(() => ${schemaConstName(name)})` : schemaConstName(name);
  }

  private withNullable(schema: SchemaObject, expression: string): string {
    const typeList = Array.isArray(schema.type) ? schema.type : [];
    const nullable =
      schema.nullable === true || (typeList.includes("null") && typeList.length === 2);
    return nullable && schema.const === undefined && !schema.enum
      ? `${expression}.nullable()`
      : expression;
  }

  private core(schema: SchemaObject): string {
    if (schema.const !== undefined) return literal(schema.const);
    if (schema.enum) return enumeration(schema.enum);
    const typeList = Array.isArray(schema.type) ? schema.type.filter((t) => t !== "null") : [];
    if (typeList.length > 1) {
      return `z.union([${typeList.map((type) => this.core({ ...schema, type })).join(", ")}])`;
    }
    const type = typeList[0] ?? (typeof schema.type === "string" ? schema.type : undefined);
    const composed = this.composition(schema, type);
    if (composed) return composed;
    return this.single(schema, type);
  }

  /** openapi-typescript: (core & allOf...) then `| anyOf...`, then `& (oneOf...)` unless all primitive. */
  private composition(schema: SchemaObject, type: string | undefined): string | undefined {
    if (!schema.allOf && !schema.anyOf && !schema.oneOf) return undefined;
    const hasCore =
      type !== undefined ||
      schema.properties !== undefined ||
      schema.additionalProperties !== undefined;
    let result: string | undefined = hasCore ? this.single(schema, type) : undefined;
    if (schema.allOf) {
      const parts = schema.allOf.map((item) => this.allOfItem(item, schema.required ?? []));
      const allOf = parts.reduce((left, right) => `z.intersection(${left}, ${right})`);
      result = result ? `z.intersection(${result}, ${allOf})` : allOf;
    }
    if (schema.anyOf) {
      const items = schema.anyOf.map((item) => this.expression(item));
      result = union(result ? [result, ...items] : items);
    }
    if (schema.oneOf) {
      const items = schema.oneOf.map((item) => this.expression(item));
      const oneOf = this.discriminated(schema) ?? union(items);
      result = result ? `z.intersection(${result}, ${oneOf})` : oneOf;
    }
    return result;
  }

  private allOfItem(item: SchemaObject, required: string[]): string {
    if (!item.$ref)
      return this.expression({ ...item, required: [...required, ...(item.required ?? [])] });
    const resolved = resolveLocal<SchemaObject>(this.document, item);
    const lifted = required.filter((key) => resolved.properties?.[key] !== undefined);
    const reference = this.reference(item.$ref);
    if (lifted.length === 0 || this.cyclic.has(schemaNameOfRef(item.$ref))) return reference;
    return `${reference}.required({ ${lifted.map((key) => `${propertyKey(key)}: true`).join(", ")} })`;
  }

  private discriminated(schema: SchemaObject): string | undefined {
    const property = schema.discriminator?.propertyName;
    if (
      !property ||
      !schema.oneOf?.every((item) => item.$ref && !this.cyclic.has(schemaNameOfRef(item.$ref)))
    )
      return undefined;
    const branches = schema.oneOf.map((item) => resolveLocal<SchemaObject>(this.document, item));
    const allObjects = branches.every(
      (branch) =>
        branch.properties?.[property] !== undefined &&
        !branch.allOf &&
        !branch.oneOf &&
        !branch.anyOf,
    );
    if (!allObjects) return undefined;
    return `z.discriminatedUnion(${JSON.stringify(property)}, [${schema.oneOf.map((item) => this.expression(item)).join(", ")}])`;
  }

  private single(schema: SchemaObject, type: string | undefined): string {
    switch (type) {
      case "string":
        return this.string(schema);
      case "integer":
        return this.number(schema, "z.number().int()");
      case "number":
        return this.number(schema, "z.number()");
      case "boolean":
        return "z.boolean()";
      case "null":
        return "z.null()";
      case "array":
        return this.array(schema);
      case "object":
        return this.object(schema);
      default:
        return schema.properties || schema.additionalProperties !== undefined
          ? this.object(schema)
          : "z.unknown()";
    }
  }

  private string(schema: SchemaObject): string {
    let out = "z.string()";
    if (schema.minLength !== undefined) out += `.min(${schema.minLength})`;
    if (schema.maxLength !== undefined) out += `.max(${schema.maxLength})`;
    if (schema.pattern !== undefined)
      out += `.regex(new RegExp(${JSON.stringify(schema.pattern)}))`;
    return out;
  }

  private number(schema: SchemaObject, base: string): string {
    let out = base;
    if (schema.minimum !== undefined) out += `.min(${schema.minimum})`;
    if (schema.maximum !== undefined) out += `.max(${schema.maximum})`;
    if (typeof schema.exclusiveMinimum === "number") out += `.gt(${schema.exclusiveMinimum})`;
    if (typeof schema.exclusiveMaximum === "number") out += `.lt(${schema.exclusiveMaximum})`;
    return out;
  }

  private array(schema: SchemaObject): string {
    let out = `z.array(${this.expression(schema.items)})`;
    if (schema.minItems !== undefined) out += `.min(${schema.minItems})`;
    if (schema.maxItems !== undefined) out += `.max(${schema.maxItems})`;
    return out;
  }

  /** openapi-typescript: no properties and no additionalProperties is `Record<string, unknown>` (emptyObjectsUnknown). */
  private object(schema: SchemaObject): string {
    const properties = Object.entries(schema.properties ?? {});
    const extra = schema.additionalProperties;
    if (properties.length === 0) {
      if (extra === false) return "z.object({})";
      const values = extra === undefined || extra === true ? "z.unknown()" : this.expression(extra);
      return `z.record(z.string(), ${values})`;
    }
    const required = new Set(schema.required ?? []);
    const fields = properties.map(([key, value]) => {
      const expression = this.expression(value);
      return `${propertyKey(key)}: ${required.has(key) ? expression : `${expression}.optional()`},`;
    });
    const object = `z.object({${fields.join("\n")}})`;
    if (extra === undefined || extra === false) return object;
    return `${object}.catchall(${extra === true ? "z.unknown()" : this.expression(extra)})`;
  }
}

function literal(value: JsonValue): string {
  return value === null ? "z.null()" : `z.literal(${JSON.stringify(value)})`;
}

function enumeration(values: JsonValue[]): string {
  if (values.length > 0 && values.every((value) => typeof value === "string")) {
    return `z.enum(${JSON.stringify(values)})`;
  }
  return union(values.map(literal));
}

function union(items: string[]): string {
  return items.length === 1 ? items[0] : `z.union([${items.join(", ")}])`;
}

/** Component names ordered so every reference is declared first; members of cycles are marked lazy. */
function dependencyOrder(schemas: Record<string, SchemaObject>): {
  names: string[];
  cyclic: Set<string>;
} {
  const names: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const cyclic = new Set<string>();
  const visit = (name: string, stack: string[]): void => {
    const current = state.get(name);
    if (current === "done") return;
    if (current === "visiting") {
      for (const member of stack.slice(stack.indexOf(name))) cyclic.add(member);
      return;
    }
    state.set(name, "visiting");
    for (const dependency of [...references(schemas[name])].sort()) {
      if (dependency in schemas) visit(dependency, [...stack, name]);
    }
    state.set(name, "done");
    names.push(name);
  };
  for (const name of Object.keys(schemas).sort()) visit(name, []);
  return { names, cyclic };
}

function references(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) references(item, found);
  } else if (value && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      if (
        key === "$ref" &&
        typeof child === "string" &&
        child.startsWith("#/components/schemas/")
      ) {
        found.add(schemaNameOfRef(child));
      } else {
        references(child, found);
      }
    }
  }
  return found;
}
