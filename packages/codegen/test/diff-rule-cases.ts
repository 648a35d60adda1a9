import type { JsonObject, JsonValue } from "../src/load/openapi-document";
import type { ChangeKind } from "../src/diff/spec-change";

/**
 * The breaking-change rule table: each case edits a copy of `fixtures/diff/base-api.yaml` (its
 * base, optionally, and its head) and lists every change the diff must report, as
 * `[kind, rule, operationId]`. Requests and responses are judged in opposite directions, so most
 * rules appear twice: once each way, or once per direction.
 */
export interface RuleCase {
  name: string;
  base?: Edit;
  head: Edit;
  want: Expected[];
}

export type Edit = (document: JsonObject) => void;
export type Expected = readonly [ChangeKind, string, string];

const B = "breaking";
const N = "non-breaking";
const D = "deprecation";

/** The object at `keys` under `node`; throws when the fixture does not have it. */
export function at(node: JsonObject, ...keys: string[]): JsonObject {
  let current: JsonValue = node;
  for (const key of keys) {
    if (!isObject(current) || !isObject(current[key]))
      throw new Error(`no object at ${keys.join(".")}`);
    current = current[key];
  }
  return current as JsonObject;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const schema = (document: JsonObject, name: string) => at(document, "components", "schemas", name);
const props = (document: JsonObject, name: string) => at(schema(document, name), "properties");
const operation = (document: JsonObject, path: string, method: string) =>
  at(document, "paths", path, method);
const ITEMS = "/v1/items";
const ITEM = "/v1/items/{item}";
const V1 = "application/vnd.stowage.item.v1+json";
const V2 = "application/vnd.stowage.item.v2+json";

/** Renames a key of an object in place, keeping the order of the others. */
function renameKey(node: JsonObject, from: string, to: string): void {
  const entries = Object.entries(node).map(
    ([key, value]) => [key === from ? to : key, value] as const,
  );
  for (const key of Object.keys(node)) delete node[key];
  for (const [key, value] of entries) node[key] = value;
}

const addV2: Edit = (document) => {
  schema(document, "ItemV2").type = "object";
  const v2 = schema(document, "ItemV2");
  v2.required = ["id"];
  v2.properties = { id: { type: "string" } };
  at(operation(document, ITEM, "get"), "responses", "200", "content")[V2] = {
    schema: { $ref: "#/components/schemas/ItemV2" },
  };
};

const withItemV2Schema: Edit = (document) => {
  at(document, "components", "schemas").ItemV2 = {};
  addV2(document);
};

const optionalDeleteBody: Edit = (document) => {
  operation(document, ITEM, "delete").requestBody = {
    content: {
      "application/json": {
        schema: { type: "object", properties: { reason: { type: "string" } } },
      },
    },
  };
};

const requiredDeleteBody: Edit = (document) => {
  optionalDeleteBody(document);
  at(operation(document, ITEM, "delete"), "requestBody").required = true;
};

const addSmbTarget: Edit = (document) => {
  at(document, "components", "schemas").SmbTarget = {
    type: "object",
    required: ["kind", "share"],
    properties: { kind: { const: "smb" }, share: { type: "string" } },
  };
  const target = schema(document, "Target");
  (target.oneOf as JsonValue[]).push({ $ref: "#/components/schemas/SmbTarget" });
  at(target, "discriminator", "mapping").smb = "#/components/schemas/SmbTarget";
};

export const RULE_CASES: RuleCase[] = [
  { name: "identical specs", head: () => undefined, want: [] },
  {
    name: "descriptions and summaries only",
    head: (document) => {
      at(document, "info").description = "Now described.";
      at(operation(document, ITEMS, "get"), "responses", "200").description =
        "Another description.";
      schema(document, "Item").description = "An item.";
    },
    want: [],
  },
  {
    name: "a $ref renamed, the schema unchanged",
    head: (document) => {
      const schemas = at(document, "components", "schemas");
      renameKey(schemas, "ItemV1", "ItemDetail");
      const content = at(operation(document, ITEM, "get"), "responses", "200", "content");
      for (const type of [V1, "application/json"])
        content[type] = { schema: { $ref: "#/components/schemas/ItemDetail" } };
    },
    want: [],
  },

  // Paths and operations.
  {
    name: "path removed",
    head: (document) => delete at(document, "paths")[ITEM],
    want: [
      [B, "path.removed", "getItem"],
      [B, "path.removed", "deleteItem"],
    ],
  },
  {
    name: "path added",
    head: (document) => {
      at(document, "paths")["/v1/tags"] = {
        get: { operationId: "listTags", responses: { "200": { description: "Tags." } } },
      };
    },
    want: [[N, "path.added", "listTags"]],
  },
  {
    name: "operation removed",
    head: (document) => delete at(document, "paths", ITEM).delete,
    want: [[B, "operation.removed", "deleteItem"]],
  },
  {
    name: "operation added",
    head: (document) => {
      at(document, "paths", ITEM).put = {
        operationId: "replaceItem",
        responses: { "204": { description: "Replaced." } },
      };
    },
    want: [[N, "operation.added", "replaceItem"]],
  },
  {
    name: "path parameter renamed",
    head: (document) => {
      const paths = at(document, "paths");
      renameKey(paths, ITEM, "/v1/items/{itemId}");
      const [parameter] = at(paths, "/v1/items/{itemId}").parameters as JsonObject[];
      parameter.name = "itemId";
    },
    want: [
      [N, "path.parameter-renamed", "getItem"],
      [N, "path.parameter-renamed", "deleteItem"],
    ],
  },
  {
    name: "a breaking change shipped as a new API version (/v2) beside /v1",
    head: (document) => {
      const v2 = structuredClone(operation(document, ITEMS, "get"));
      v2.operationId = "listItemsV2";
      delete v2.parameters;
      at(document, "paths")["/v2/items"] = { get: v2 };
    },
    want: [[N, "path.version-added", "listItemsV2"]],
  },
  {
    name: "/v1 of a path removed when /v2 is added",
    head: (document) => {
      const paths = at(document, "paths");
      const health = at(paths, "/v1/health");
      at(health, "get").operationId = "getHealthV2";
      delete paths["/v1/health"];
      paths["/v2/health"] = health;
    },
    want: [
      [B, "path.version-removed", "getHealth"],
      [N, "path.version-added", "getHealthV2"],
    ],
  },
  {
    name: "operation deprecated",
    head: (document) => (operation(document, ITEM, "get").deprecated = true),
    want: [[D, "operation.deprecated", "getItem"]],
  },
  {
    name: "operationId changed",
    head: (document) => (operation(document, ITEM, "get").operationId = "fetchItem"),
    want: [[B, "operation.id-changed", "fetchItem"]],
  },

  // Parameters (request direction).
  {
    name: "query parameter removed",
    head: (document) => (operation(document, ITEMS, "get").parameters as JsonValue[]).shift(),
    want: [[B, "parameter.removed", "listItems"]],
  },
  {
    name: "required query parameter added",
    head: (document) => {
      (operation(document, ITEMS, "get").parameters as JsonValue[]).push({
        name: "tenant",
        in: "query",
        required: true,
        schema: { type: "string" },
      });
    },
    want: [[B, "parameter.added-required", "listItems"]],
  },
  {
    name: "optional query parameter added",
    head: (document) => {
      (operation(document, ITEMS, "get").parameters as JsonValue[]).push({
        name: "q",
        in: "query",
        schema: { type: "string" },
      });
    },
    want: [[N, "parameter.added", "listItems"]],
  },
  {
    name: "parameter made required",
    head: (document) => (firstParameter(document).required = true),
    want: [[B, "parameter.required", "listItems"]],
  },
  {
    name: "parameter made optional",
    base: (document) => (firstParameter(document).required = true),
    head: () => undefined,
    want: [[N, "parameter.optional", "listItems"]],
  },
  {
    name: "parameter schema narrowed (maximum lowered)",
    head: (document) => (at(firstParameter(document), "schema").maximum = 100),
    want: [[B, "constraint.narrowed", "listItems"]],
  },
  {
    name: "parameter schema widened (maximum raised)",
    head: (document) => (at(firstParameter(document), "schema").maximum = 5000),
    want: [[N, "constraint.widened", "listItems"]],
  },
  {
    name: "parameter deprecated",
    head: (document) => (firstParameter(document).deprecated = true),
    want: [[D, "parameter.deprecated", "listItems"]],
  },
  {
    name: "enum value removed from a schema used in a request and in responses",
    head: (document) => (schema(document, "ItemState").enum = ["active"]),
    want: [
      [B, "enum.value-removed", "listItems"],
      [N, "enum.value-removed", "listItems"],
      [N, "enum.value-removed", "createItem"],
    ],
  },
  {
    name: "enum value added to a schema used in a request and in responses",
    head: (document) => (schema(document, "ItemState").enum = ["active", "archived", "deleted"]),
    want: [
      [N, "enum.value-added", "listItems"],
      [B, "enum.value-added", "listItems"],
      [B, "enum.value-added", "createItem"],
    ],
  },

  // Request bodies.
  {
    name: "required request property added",
    head: (document) => {
      props(document, "ItemInput").owner = { type: "string" };
      (schema(document, "ItemInput").required as JsonValue[]).push("owner");
    },
    want: [[B, "property.added-required", "createItem"]],
  },
  {
    name: "optional request property added",
    head: (document) => (props(document, "ItemInput").owner = { type: "string" }),
    want: [[N, "property.added", "createItem"]],
  },
  {
    name: "request property removed from an open object",
    head: (document) => delete props(document, "ItemInput").kind,
    want: [[N, "property.removed", "createItem"]],
  },
  {
    name: "request property removed from a closed object",
    base: (document) => (schema(document, "ItemInput").additionalProperties = false),
    head: (document) => {
      schema(document, "ItemInput").additionalProperties = false;
      delete props(document, "ItemInput").kind;
    },
    want: [[B, "property.removed", "createItem"]],
  },
  {
    name: "request object closed (additionalProperties: false)",
    head: (document) => (schema(document, "ItemInput").additionalProperties = false),
    want: [[B, "properties.closed", "createItem"]],
  },
  {
    name: "request property made required",
    head: (document) => (schema(document, "ItemInput").required = ["name", "kind"]),
    want: [[B, "property.required", "createItem"]],
  },
  {
    name: "request property made optional",
    head: (document) => (schema(document, "ItemInput").required = []),
    want: [[N, "property.optional", "createItem"]],
  },
  {
    name: "request property type narrowed (null no longer allowed)",
    head: (document) => (props(document, "ItemInput").note = { type: "string" }),
    want: [[B, "type.narrowed", "createItem"]],
  },
  {
    name: "request property type widened (null allowed)",
    head: (document) => (at(props(document, "ItemInput"), "name").type = ["string", "null"]),
    want: [[N, "type.widened", "createItem"]],
  },
  {
    name: "request property type changed (string -> integer)",
    head: (document) => (at(props(document, "ItemInput"), "name").type = "integer"),
    want: [[B, "type.changed", "createItem"]],
  },
  {
    name: "request enum value removed",
    head: (document) => (at(props(document, "ItemInput"), "kind").enum = ["small"]),
    want: [[B, "enum.value-removed", "createItem"]],
  },
  {
    name: "request enum value added",
    head: (document) =>
      (at(props(document, "ItemInput"), "kind").enum = ["small", "large", "huge"]),
    want: [[N, "enum.value-added", "createItem"]],
  },
  {
    name: "request string shortened (maxLength lowered)",
    head: (document) => (at(props(document, "ItemInput"), "name").maxLength = 50),
    want: [[B, "constraint.narrowed", "createItem"]],
  },
  {
    name: "request pattern added",
    head: (document) => (at(props(document, "ItemInput"), "name").pattern = "^[a-z]+$"),
    want: [[B, "constraint.narrowed", "createItem"]],
  },
  {
    name: "required request body added",
    head: requiredDeleteBody,
    want: [[B, "request-body.added-required", "deleteItem"]],
  },
  {
    name: "optional request body added",
    head: optionalDeleteBody,
    want: [[N, "request-body.added", "deleteItem"]],
  },
  {
    name: "request body removed",
    base: optionalDeleteBody,
    head: () => undefined,
    want: [[B, "request-body.removed", "deleteItem"]],
  },
  {
    name: "request body made required",
    base: optionalDeleteBody,
    head: requiredDeleteBody,
    want: [[B, "request-body.required", "deleteItem"]],
  },
  {
    name: "request body made optional",
    base: requiredDeleteBody,
    head: optionalDeleteBody,
    want: [[N, "request-body.optional", "deleteItem"]],
  },
  {
    name: "request media type added",
    head: (document) => {
      at(operation(document, ITEMS, "post"), "requestBody", "content")[
        "application/merge-patch+json"
      ] = {
        schema: { $ref: "#/components/schemas/ItemInput" },
      };
    },
    want: [[N, "media.added", "createItem"]],
  },
  {
    name: "request media type removed",
    base: (document) => {
      at(operation(document, ITEMS, "post"), "requestBody", "content")[
        "application/merge-patch+json"
      ] = {
        schema: { $ref: "#/components/schemas/ItemInput" },
      };
    },
    head: () => undefined,
    want: [[B, "media.removed", "createItem"]],
  },
  {
    name: "oneOf variant added to a schema used in a request and in responses",
    head: addSmbTarget,
    want: [
      [B, "schema.branch-added", "listItems"],
      [N, "schema.branch-added", "createItem"],
      [B, "schema.branch-added", "createItem"],
    ],
  },
  {
    name: "oneOf variant removed from a schema used in a request and in responses",
    base: addSmbTarget,
    head: () => undefined,
    want: [
      [N, "schema.branch-removed", "listItems"],
      [B, "schema.branch-removed", "createItem"],
      [N, "schema.branch-removed", "createItem"],
    ],
  },

  // Responses (a recursive schema: Item.children is an array of Item).
  {
    name: "response property removed",
    head: (document) => delete props(document, "Item").label,
    want: [
      [B, "property.removed", "listItems"],
      [B, "property.removed", "createItem"],
    ],
  },
  {
    name: "response property added",
    head: (document) =>
      (props(document, "Item").created_at = { type: "string", format: "date-time" }),
    want: [
      [N, "property.added", "listItems"],
      [N, "property.added", "createItem"],
    ],
  },
  {
    name: "response property made optional",
    head: (document) => (schema(document, "Item").required = ["id", "name"]),
    want: [
      [B, "property.optional", "listItems"],
      [B, "property.optional", "createItem"],
    ],
  },
  {
    name: "response property made required",
    head: (document) => (schema(document, "Item").required = ["id", "name", "state", "size"]),
    want: [
      [N, "property.required", "listItems"],
      [N, "property.required", "createItem"],
    ],
  },
  {
    name: "response property widened (integer -> number)",
    head: (document) => (at(props(document, "Item"), "size").type = "number"),
    want: [
      [B, "type.widened", "listItems"],
      [B, "type.widened", "createItem"],
    ],
  },
  {
    name: "response property narrowed (a bound added)",
    head: (document) => (at(props(document, "Item"), "size").minimum = 0),
    want: [
      [N, "constraint.narrowed", "listItems"],
      [N, "constraint.narrowed", "createItem"],
    ],
  },
  {
    name: "response property deprecated",
    head: (document) => (at(props(document, "Item"), "label").deprecated = true),
    want: [
      [D, "schema.deprecated", "listItems"],
      [D, "schema.deprecated", "createItem"],
    ],
  },
  {
    name: "response status removed",
    head: (document) => delete at(operation(document, ITEM, "get"), "responses")["404"],
    want: [[B, "response.removed", "getItem"]],
  },
  {
    name: "response status added",
    head: (document) =>
      (at(operation(document, ITEM, "get"), "responses")["410"] = { description: "Gone." }),
    want: [[N, "response.added", "getItem"]],
  },
  {
    name: "response media type added",
    head: (document) => {
      at(operation(document, ITEMS, "get"), "responses", "200", "content")["text/csv"] = {
        schema: { type: "string" },
      };
    },
    want: [[N, "media.added", "listItems"]],
  },
  {
    name: "response media type removed",
    head: (document) =>
      delete at(operation(document, "/v1/health", "get"), "responses", "200", "content")[
        "text/plain"
      ],
    want: [[B, "media.removed", "getHealth"]],
  },
  {
    name: "response header removed",
    head: (document) =>
      delete at(operation(document, ITEMS, "post"), "responses", "201", "headers").Location,
    want: [[B, "header.removed", "createItem"]],
  },
  {
    name: "response header added",
    head: (document) => {
      at(operation(document, ITEMS, "post"), "responses", "201", "headers").ETag = {
        schema: { type: "string" },
      };
    },
    want: [[N, "header.added", "createItem"]],
  },

  // Security and permissions.
  {
    name: "security requirement added to a public operation",
    head: (document) => delete operation(document, "/v1/health", "get").security,
    want: [[B, "security.added", "getHealth"]],
  },
  {
    name: "security requirement removed (operation made public)",
    head: (document) => (operation(document, ITEM, "delete").security = []),
    want: [[N, "security.relaxed", "deleteItem"]],
  },
  {
    name: "second scheme required together with the first",
    head: (document) => (operation(document, ITEM, "get").security = [{ bearer: [], apiKey: [] }]),
    want: [[B, "security.added", "getItem"]],
  },
  {
    name: "alternative scheme accepted",
    head: (document) =>
      (operation(document, ITEM, "get").security = [{ bearer: [] }, { apiKey: [] }]),
    want: [[N, "security.relaxed", "getItem"]],
  },
  {
    name: "verb changed",
    head: (document) => (operation(document, ITEM, "get")["x-stowage-verb"] = "item:admin"),
    want: [[B, "verb.changed", "getItem"]],
  },
  {
    name: "verb added",
    head: (document) =>
      (operation(document, "/v1/health", "get")["x-stowage-verb"] = "health:read"),
    want: [[B, "verb.added", "getHealth"]],
  },
  {
    name: "verb removed",
    head: (document) => delete operation(document, ITEM, "delete")["x-stowage-verb"],
    want: [[N, "verb.removed", "deleteItem"]],
  },

  // Versioned media types (x-stowage-media).
  {
    name: "breaking change inside an existing media type version",
    head: (document) => delete props(document, "ItemV1").label,
    want: [[B, "property.removed", "getItem"]],
  },
  {
    name: "the same change shipped as a new media type version beside the old one",
    head: withItemV2Schema,
    want: [[N, "media.version-added", "getItem"]],
  },
  {
    name: "media type version removed",
    base: withItemV2Schema,
    head: (document) => {
      withItemV2Schema(document);
      delete at(operation(document, ITEM, "get"), "responses", "200", "content")[V1];
      const media = at(operation(document, ITEM, "get"), "x-stowage-media");
      media.default = V2;
      media.aliases = { "application/json": V2 };
      at(operation(document, ITEM, "get"), "responses", "200", "content")["application/json"] = {
        schema: { $ref: "#/components/schemas/ItemV2" },
      };
    },
    want: [
      [B, "media.default-changed", "getItem"],
      [B, "media.alias-changed", "getItem"],
      [B, "media.version-removed", "getItem"],
      [B, "property.removed", "getItem"],
      [B, "property.removed", "getItem"],
    ],
  },
  {
    name: "default media type version changed",
    base: withItemV2Schema,
    head: (document) => {
      withItemV2Schema(document);
      at(operation(document, ITEM, "get"), "x-stowage-media").default = V2;
    },
    want: [[B, "media.default-changed", "getItem"]],
  },
  {
    name: "media type alias added",
    head: (document) => {
      const alias = "application/vnd.legacy.item+json";
      at(operation(document, ITEM, "get"), "x-stowage-media", "aliases")[alias] = V1;
      at(operation(document, ITEM, "get"), "responses", "200", "content")[alias] = {
        schema: { $ref: "#/components/schemas/ItemV1" },
      };
    },
    want: [
      [N, "media.alias-added", "getItem"],
      [N, "media.added", "getItem"],
    ],
  },
  {
    name: "media type alias removed",
    head: (document) => {
      delete at(operation(document, ITEM, "get"), "x-stowage-media", "aliases")["application/json"];
      delete at(operation(document, ITEM, "get"), "responses", "200", "content")[
        "application/json"
      ];
    },
    want: [
      [B, "media.alias-removed", "getItem"],
      [B, "media.removed", "getItem"],
    ],
  },
];

function firstParameter(document: JsonObject): JsonObject {
  return (operation(document, ITEMS, "get").parameters as JsonObject[])[0];
}
