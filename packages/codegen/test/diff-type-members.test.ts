import { compareOperationTypes } from "../src/diff/types/type-changes";
import { operationMembers } from "../src/diff/types/type-members";

/** Shaped like openapi-typescript's output: operations refer to components by indexed access. */
function typesSource(itemMembers: string): string {
  return `
    export interface components {
      schemas: {
        Item: { ${itemMembers} children?: components["schemas"]["Item"][] };
        Owner: { id: string; email?: string };
      };
    }
    export interface operations {
      getItem: {
        parameters: { query?: never; path: { item: string } };
        responses: { 200: { content: { "application/json": components["schemas"]["Item"] } } };
      };
    }`;
}

describe("generated type members per operation", () => {
  it("flattens members, expanding components and stopping at recursion", () => {
    const members = operationMembers(
      typesSource("id: string; owner?: components['schemas']['Owner'];"),
    );
    expect([...(members.get("getItem") ?? [])].map(([member, type]) => `${member}${type}`)).toEqual(
      [
        "parameters: {…}",
        "parameters.query?: never",
        "parameters.path: {…}",
        "parameters.path.item: string",
        "responses: {…}",
        "responses.200: {…}",
        "responses.200.content: {…}",
        'responses.200.content["application/json"]: {…}',
        'responses.200.content["application/json"].id: string',
        'responses.200.content["application/json"].owner?: {…}',
        'responses.200.content["application/json"].owner.id: string',
        'responses.200.content["application/json"].owner.email?: string',
        'responses.200.content["application/json"].children?: array',
        'responses.200.content["application/json"].children[]: schemas.Item (recursive)',
      ],
    );
  });

  it("lists added, removed and changed members, not the leaves of a removed object", () => {
    const before = operationMembers(
      typesSource("id: string; size?: number; owner?: components['schemas']['Owner'];"),
    );
    const after = operationMembers(typesSource("id: string; size: string; label?: string;"));
    expect(compareOperationTypes(before, after)).toEqual([
      {
        operationId: "getItem",
        status: "changed",
        added: [{ member: 'responses.200.content["application/json"].label', type: "?: string" }],
        removed: [{ member: 'responses.200.content["application/json"].owner', type: "?: {…}" }],
        changed: [
          {
            member: 'responses.200.content["application/json"].size',
            before: "?: number",
            after: ": string",
          },
        ],
      },
    ]);
  });

  it("reports nothing for identical types", () => {
    const members = operationMembers(typesSource("id: string;"));
    expect(compareOperationTypes(members, operationMembers(typesSource("id: string;")))).toEqual(
      [],
    );
  });
});
