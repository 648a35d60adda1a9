import type { IncomingHttpHeaders } from "node:http";
import type { Request, Response } from "express";
import type { SerializedJson } from "./serialized-json";

/**
 * Types that turn an openapi-typescript `operations[X]` into a handler's context and the union of
 * its documented replies. `Streams` maps media types whose bodies are streams (NDJSON items,
 * binary bytes) to what the handler sees instead of the spec's `string`.
 */
type ParametersOf<Op> = Op extends { parameters: infer P } ? P : never;
type Section<Op, K extends string> =
  ParametersOf<Op> extends { [key in K]?: infer T }
    ? [T] extends [never]
      ? Record<string, never>
      : NonNullable<T>
    : Record<string, never>;

type RequestBodyOf<Op> = Op extends { requestBody?: infer RB } ? RB : never;
type RequestContent<Op> = NonNullable<RequestBodyOf<Op>> extends { content: infer C } ? C : never;
type BodyFor<C, Streams> = { [M in keyof C]: M extends keyof Streams ? Streams[M] : C[M] }[keyof C];
type OptionalBody<Op> = undefined extends RequestBodyOf<Op> ? undefined : never;

export type RequestBody<Op, Streams> = [RequestContent<Op>] extends [never]
  ? undefined
  : BodyFor<RequestContent<Op>, Streams> | OptionalBody<Op>;

/** Node lower-cases incoming header names, so the spec's `If-None-Match` is read as `if-none-match`. */
type LowerCaseKeys<T> = { [K in keyof T as K extends string ? Lowercase<K> : K]: T[K] };

export interface HandlerContext<Op, Principal, Accept extends string, Streams = object> {
  params: Section<Op, "path">;
  query: Section<Op, "query">;
  /** The spec's header parameters (lower-cased names), plus every other header as sent. */
  headers: LowerCaseKeys<Section<Op, "header">> & IncomingHttpHeaders;
  body: RequestBody<Op, Streams>;
  /** What the security hook returned; `undefined` on public operations. */
  principal: Principal;
  /** The negotiated response media type (never an alias: the router writes the alias back). */
  accept: Accept;
  requestId: string;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  req: Request;
  res: Response;
}

export type ReplyHeaders = Record<string, string | number | readonly string[]>;

type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never;

/** A JSON body may also be given serialized already. */
type JsonBody<M, T> = M extends "application/json" | `application/${string}+json`
  ? T | SerializedJson<T>
  : T;

type ReplyWithContent<S, C, Streams> = {
  [M in keyof C]: (true extends IsUnion<keyof C> ? { contentType: M } : { contentType?: M }) & {
    status: S;
    body: M extends keyof Streams ? Streams[M] : JsonBody<M, C[M]>;
    headers?: ReplyHeaders;
  };
}[keyof C];

type ReplyFor<S, R, Streams> = R extends { content: infer C }
  ? ReplyWithContent<S, C, Streams>
  : { status: S; body?: undefined; headers?: ReplyHeaders };

type ResponsesOf<Op> = Op extends { responses: infer R } ? R : never;

/** Every documented status with its documented bodies; anything else is a compile error. */
export type Reply<Op, Streams = object> = {
  [S in keyof ResponsesOf<Op>]: ReplyFor<
    S extends "default" ? number : S,
    ResponsesOf<Op>[S],
    Streams
  >;
}[keyof ResponsesOf<Op>];

export type HandlerResult<Op, Streams = object> = Reply<Op, Streams> | Promise<Reply<Op, Streams>>;
