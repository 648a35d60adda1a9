import type { RequestHandler } from "express";
import * as OpenApiValidator from "express-openapi-validator";
import { openapiRouteLookup, type ValidatorContext } from "./openapi-route-lookup";
import { rememberingValidation } from "./validation-memo";

type ValidatorOptions = Parameters<typeof OpenApiValidator.middleware>[0];
type ApiDoc = ValidatorContext["apiDoc"] & { components?: { securitySchemes?: object } };

/** The factories of express-openapi-validator 5.6's `OpenApiValidator` instance used here. */
interface ValidatorInstance {
  metadataMiddleware(context: ValidatorContext, responseApiDoc: ApiDoc | undefined): RequestHandler;
  securityMiddleware(apiDoc: ApiDoc): RequestHandler;
  multipartMiddleware(apiDoc: ApiDoc): RequestHandler;
  requestValidationMiddleware(apiDoc: ApiDoc): RequestHandler;
  responseValidationMiddleware(apiDoc: ApiDoc | undefined, serial: number): RequestHandler;
}

/** The validator's work for a request, in order: route lookup, security, multipart, request, response. */
export interface ValidatorStages {
  metadata: RequestHandler;
  security?: RequestHandler;
  multipart?: RequestHandler;
  request?: RequestHandler;
  response?: RequestHandler;
}

export interface Validator {
  /** The validator's middleware as it installs itself, for requests before the spec is loaded. */
  installed: RequestHandler[];
  /** Its stages called directly, once the spec is loaded (after the first request). */
  stages(): ValidatorStages | undefined;
}

/**
 * express-openapi-validator as a sequence of plain middleware. As installed, each of its
 * middleware waits on the spec-loading promise on every request (a promise hop per stage) and
 * its route lookup compiles a matcher per route per request: with the stages called directly
 * and the route lookup prepared once, a validated request costs about half as much. The stages
 * are the validator's own (its security check, its ajv request and response validators), taken
 * from the instance when it first builds them; if a later version renames these factories,
 * `stages()` stays `undefined` and requests keep going through the installed middleware.
 */
export function openapiValidator(options: ValidatorOptions): Validator {
  const installed = OpenApiValidator.middleware(options) as RequestHandler[];
  const instance = (OpenApiValidator.middleware as { _oav?: unknown })._oav;
  if (!isValidatorInstance(instance)) return { installed, stages: () => undefined };

  // One of each, whether the installed middleware or the direct stages ask first: each request
  // validator compiles the whole spec with ajv, which is most of the controller's idle memory.
  const security = once(instance.securityMiddleware.bind(instance));
  const multipart = once(instance.multipartMiddleware.bind(instance));
  const request = once(instance.requestValidationMiddleware.bind(instance));
  const response = once(instance.responseValidationMiddleware.bind(instance));
  instance.securityMiddleware = security;
  instance.multipartMiddleware = multipart;
  instance.requestValidationMiddleware = request;
  instance.responseValidationMiddleware = response;

  let stages: ValidatorStages | undefined;
  instance.metadataMiddleware = (context, responseApiDoc) => {
    const metadata = openapiRouteLookup(context, responseApiDoc);
    const apiDoc = context.apiDoc as ApiDoc;
    stages = {
      metadata,
      security:
        options.validateSecurity && apiDoc.components?.securitySchemes
          ? security(apiDoc)
          : undefined,
      multipart: options.fileUploader ? multipart(apiDoc) : undefined,
      request: options.validateRequests
        ? rememberingValidation(request(apiDoc), apiDoc)
        : undefined,
      response: options.validateResponses ? response(responseApiDoc, context.serial) : undefined,
    };
    return metadata;
  };
  return { installed, stages: () => stages };
}

function isValidatorInstance(value: unknown): value is ValidatorInstance {
  const candidate = value as Partial<Record<keyof ValidatorInstance, unknown>> | undefined;
  return (
    typeof candidate?.metadataMiddleware === "function" &&
    typeof candidate.securityMiddleware === "function" &&
    typeof candidate.multipartMiddleware === "function" &&
    typeof candidate.requestValidationMiddleware === "function" &&
    typeof candidate.responseValidationMiddleware === "function"
  );
}

function once<Args extends unknown[], Result>(
  make: (...args: Args) => Result,
): (...args: Args) => Result {
  let made: { value: Result } | undefined;
  return (...args) => {
    made ??= { value: make(...args) };
    return made.value;
  };
}
