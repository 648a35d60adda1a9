import { createHash } from "node:crypto";
import { once } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express from "express";
import { ApiError } from "@stowage/server-runtime";
import type { FixtureHandlers } from "../fixture-server/src/generated/handlers";
import { createFixtureRouter } from "../fixture-server/src/generated/router";
import type { components } from "../fixture-server/src/generated/types";

export interface Principal {
  name: string;
  verbs: string[];
}

/** Bearer tokens of the test server and the verbs each grants. */
export const TOKENS: Record<string, Principal> = {
  "reader-token": { name: "reader", verbs: ["item:read"] },
  "writer-token": { name: "writer", verbs: ["item:read", "item:write"] },
};

export interface FixtureServer {
  url: string;
  /** Bodies the flaky route received, in order. */
  flakyBodies: unknown[];
  loggedErrors: object[];
  /** Delays `slowEcho` started and whether the client's departure aborted them. */
  slowCalls: { aborted: boolean }[];
  /** Set to make `listItems` break its contract. */
  breakContract: { on: boolean };
  close(): Promise<void>;
}

type Item = components["schemas"]["Item"];

export async function startFixtureServer(): Promise<FixtureServer> {
  const items = new Map<string, Item>();
  const flakyBodies: unknown[] = [];
  const loggedErrors: object[] = [];
  const breakContract = { on: false };
  const slowCalls: { aborted: boolean }[] = [];
  const events: components["schemas"]["Event"][] = [
    { id: "e1", op: "created", body: { id: "1" } },
    { id: "e2", op: "deleted" },
    { id: "e3", op: "created" },
  ];

  const handlers: Omit<FixtureHandlers<Principal>, "notImplementedHere"> = {
    listItems(ctx) {
      const page = {
        items: [...items.values()].slice(0, ctx.query.limit ?? 10),
        next_marker: null,
      };
      if (breakContract.on)
        return {
          status: 200,
          body: { items: [{ id: "x" }], next_marker: null } as unknown as typeof page,
        };
      return { status: 200, body: page };
    },
    createItem(ctx) {
      const item: Item = {
        ...ctx.body,
        id: String(items.size + 1),
        created_at: new Date(0).toISOString(),
      };
      items.set(item.id, item);
      return { status: 201, body: item };
    },
    getItem(ctx) {
      const item = items.get(ctx.params.id);
      if (!item) throw new ApiError(404, "resource.not_found", `No item ${ctx.params.id}.`);
      if (ctx.accept === "application/vnd.fixture.item.v2+json") {
        return { status: 200, contentType: ctx.accept, body: item };
      }
      return {
        status: 200,
        contentType: "application/vnd.fixture.item.v1+json",
        body: { id: item.id, name: item.name },
      };
    },
    streamEvents() {
      return {
        status: 200,
        body: (async function* () {
          yield* events;
        })(),
      };
    },
    async ingestEvents(ctx) {
      let count = 0;
      for await (const event of ctx.body) {
        events.push(event);
        count++;
      }
      return { status: 201, body: { count } };
    },
    async uploadBlob(ctx) {
      const hash = createHash("sha256");
      let bytes = 0;
      for await (const chunk of ctx.body as AsyncIterable<Buffer>) {
        hash.update(chunk);
        bytes += chunk.length;
      }
      return { status: 201, body: { bytes, sha256: hash.digest("hex") } };
    },
    async slowEcho(ctx) {
      const call = { aborted: false };
      slowCalls.push(call);
      try {
        await delay(ctx.query.ms, undefined, { signal: ctx.signal });
      } catch {
        call.aborted = true;
      }
      return { status: 200, body: { message: `waited ${ctx.query.ms} ms` } };
    },
    flakyEcho(ctx) {
      flakyBodies.push(ctx.body);
      if (flakyBodies.length === 1) {
        throw new ApiError(429, "rate.limited", "Slow down.", { headers: { "Retry-After": "1" } });
      }
      return { status: 200, body: { ...ctx.body, attempt: flakyBodies.length } };
    },
  };

  const router = createFixtureRouter<Principal>(handlers, {
    authenticate: ({ req }) => {
      const token = /^Bearer (.+)$/.exec(req.get("authorization") ?? "")?.[1];
      if (token === undefined) return undefined;
      const principal = TOKENS[token];
      if (!principal) throw new ApiError(401, "auth.invalid_token", "The token is not valid.");
      return principal;
    },
    authorize: ({ principal, verb }) => principal.verbs.includes(verb),
    validateResponses: true,
    logger: { error: (details) => loggedErrors.push(details), warn: () => undefined },
  });
  await router.ready();
  const app = express();
  app.use(router);
  const server: Server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    flakyBodies,
    loggedErrors,
    breakContract,
    slowCalls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
