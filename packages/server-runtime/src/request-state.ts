import { randomUUID } from "node:crypto";
import type { Request } from "express";
import type { ApiError } from "./api-error";
import type { NegotiatedMedia } from "./negotiate-media";

/** What the router's stages learn about a request and hand to the later ones. */
export interface RequestState {
  requestId: string;
  principal?: unknown;
  authFailure?: ApiError;
  negotiated?: NegotiatedMedia;
}

export const STATE = Symbol("stowage");
export type StatefulRequest = Request & { [STATE]?: RequestState };

/** The request's state, made (with a request id of its own) if no stage made it yet. */
export function state(req: Request): RequestState {
  const holder = req as StatefulRequest;
  holder[STATE] ??= { requestId: randomUUID() };
  return holder[STATE];
}
