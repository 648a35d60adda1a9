import { IncomingMessage } from "node:http";
import { STATE, type RequestState } from "./request-state";
import { VALIDATED_QUERY } from "./validation-memo";

/**
 * The request class for a server that mounts a stowage router:
 * `http.createServer({ IncomingMessage: StowageIncomingMessage }, app)`. Express gives every
 * request another prototype (`Object.setPrototypeOf(req, app.request)`), and from then on V8
 * makes a new hidden class for each property added to that request: about 2 µs a property, on
 * every request. The properties the router and express-openapi-validator set on every request
 * exist from construction here, before that, so setting them later is a plain store. A server
 * built without it works the same, only slower.
 */
export class StowageIncomingMessage extends IncomingMessage {
  /** The validator's route and operation (its metadata stage, or the router's route lookup). */
  openapi: unknown = undefined;
  [STATE]: RequestState | undefined = undefined;
  [VALIDATED_QUERY]: unknown = undefined;
  /** The parsed body; most requests have none, and a miss walks the whole prototype chain. */
  body: unknown = undefined;
}
