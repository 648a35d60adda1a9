/** Type helpers over openapi-typescript's `paths`, kept here so clients need nothing else. */
export type HttpMethod = "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace";

type SuccessStatus = 200 | 201 | 202 | 203 | 204 | 206 | 207 | "2XX";

export type OperationOf<Paths, P extends keyof Paths, M extends HttpMethod> =
  Paths[P] extends Record<M, infer Op> ? Op : never;

type ResponsesOf<Op> = Op extends { responses: infer R } ? R : never;

/** Media type -> body of the operation's success responses. */
export type SuccessContent<Op> = {
  [S in keyof ResponsesOf<Op> & SuccessStatus]: ResponsesOf<Op>[S] extends { content: infer C }
    ? C
    : never;
}[keyof ResponsesOf<Op> & SuccessStatus];

type UnionKeys<T> = T extends unknown ? keyof T : never;
type ContentFor<T, K extends PropertyKey> = T extends Record<K, infer V> ? V : never;

export type SuccessMediaType<Op> = UnionKeys<SuccessContent<Op>> & string;
export type SuccessBody<Op, Media extends PropertyKey> = ContentFor<SuccessContent<Op>, Media>;

/** The operation's parameters as openapi-fetch takes them (`params: { path, query, header }`). */
export type ParamsOf<Op> = Op extends { parameters: infer Params } ? Params : never;

type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];

/** `params` is required exactly when one of the operation's parameters is. */
export type ParamsInit<Op> =
  RequiredKeys<ParamsOf<Op>> extends never ? { params?: ParamsOf<Op> } : { params: ParamsOf<Op> };

export interface CallInit {
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export type PathsWithMethod<Paths, M extends HttpMethod> = {
  [P in keyof Paths]: Paths[P] extends Record<M, { responses: unknown }> ? P : never;
}[keyof Paths] &
  string;
