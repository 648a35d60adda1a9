// Compiled by `npm run typecheck`, never run: each `@ts-expect-error` fails the build if the call
// below it stops being a type error, so these lines prove the generated types refuse wrong calls.
import { createFixtureClient } from "../fixture-client/src/generated/client";
import type { FixtureHandlers } from "../fixture-server/src/generated/handlers";

const client = createFixtureClient({ baseUrl: "http://127.0.0.1:9" });

export async function wrongClientCalls(): Promise<void> {
  // @ts-expect-error an unknown path
  await client.GET("/nowhere");
  // @ts-expect-error a method the path does not have
  await client.DELETE("/items");
  // @ts-expect-error a body of the wrong shape
  await client.POST("/items", { body: { name: 1, pet: { kind: "cat", lives: 1 } } });
  // @ts-expect-error fields of another branch of the discriminated union
  await client.POST("/items", { body: { name: "rex", pet: { kind: "dog", lives: 3 } } });
  // @ts-expect-error a missing path parameter
  await client.GET("/items/{id}", { params: {} });
  // @ts-expect-error a media type the operation does not serve
  await client.requestAs("get", "/items/{id}", "text/csv", { params: { path: { id: "1" } } });
  // @ts-expect-error NDJSON items of the wrong type
  await client.uploadNdjson("post", "/events", { items: () => [{ id: "1", op: "exploded" }] });
  // @ts-expect-error streaming a route that is not NDJSON
  client.streamNdjson("get", "/items", {});
}

export const wrongHandlers: Partial<FixtureHandlers<{ name: string }>> = {
  // @ts-expect-error a status the spec does not document
  listItems: () => ({ status: 418, body: { items: [], next_marker: null } }),
  // @ts-expect-error a body that is not the documented one
  createItem: () => ({ status: 201, body: { id: "1" } }),
  // @ts-expect-error the v2 media type with the v1 body
  getItem: () => ({
    status: 200,
    contentType: "application/vnd.fixture.item.v2+json",
    body: { id: "1", name: "x" },
  }),
  // @ts-expect-error a media type the status does not document
  flakyEcho: () => ({ status: 200, contentType: "text/plain", body: { message: "x" } }),
};

export const rightHandlers: Partial<FixtureHandlers<{ name: string }>> = {
  listItems: (ctx) => ({ status: 200, body: { items: [], next_marker: ctx.principal.name } }),
  getItem: () => ({
    status: 200,
    contentType: "application/vnd.fixture.item.v1+json",
    body: { id: "1", name: "x" },
  }),
};
