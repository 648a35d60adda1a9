import { randomUUID, sign, type KeyObject } from "node:crypto";
import type { StowageClientOptions, TokenProvider } from "@stowage/client-runtime";
import { createAgentClient } from "./generated/client";
import type { components } from "./generated/types";

/** What an enrolled agent keeps: its instance id and the P-256 private key it enrolled. */
export interface AgentCredentials {
  instance: string;
  privateKey: KeyObject;
  /** The `key_thumbprint` enrollment answered; sent as the assertion's `kid` when given. */
  keyThumbprint?: string;
}

const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/**
 * An RFC 7523 client assertion: a compact ES256 JWS with `iss` = `sub` = the instance, `aud` =
 * the token URL, a two-minute lifetime and a fresh `jti`. Signed with node:crypto (P1363
 * signature encoding, as JWS wants), so the client needs no JWT library.
 */
export function signClientAssertion(
  credentials: AgentCredentials,
  tokenUrl: string,
  now: Date = new Date(),
): string {
  const iat = Math.floor(now.getTime() / 1000);
  const header = {
    alg: "ES256",
    typ: "JWT",
    ...(credentials.keyThumbprint ? { kid: credentials.keyThumbprint } : {}),
  };
  const claims = {
    iss: credentials.instance,
    sub: credentials.instance,
    aud: tokenUrl,
    iat,
    exp: iat + 120,
    jti: randomUUID(),
  };
  const input = `${base64url(header)}.${base64url(claims)}`;
  const signature = sign("sha256", Buffer.from(input), {
    key: credentials.privateKey,
    dsaEncoding: "ieee-p1363",
  });
  return `${input}.${signature.toString("base64url")}`;
}

export interface AccessTokenProviderOptions extends Pick<
  StowageClientOptions,
  "dispatcher" | "fetch" | "timeoutMs"
> {
  /** The token endpoint (`endpoints.token` of discovery or enrollment). */
  tokenUrl: string;
  credentials: AgentCredentials;
  /** Mint a new token this long before the current one expires. */
  refreshMarginSeconds?: number;
}

export type EndpointMap = components["schemas"]["EndpointMap"];

/**
 * A `TokenProvider` for `createAgentClient({ auth })`: trades a fresh client assertion for an
 * access token, keeps it until shortly before it expires, and mints anew when the client asks
 * to refresh (after a 401). Concurrent calls share one mint.
 */
export function accessTokenProvider(
  options: AccessTokenProviderOptions,
): TokenProvider & { endpoints(): EndpointMap | undefined } {
  const url = new URL(options.tokenUrl);
  const client = createAgentClient({
    baseUrl: url.origin,
    dispatcher: options.dispatcher,
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
    throwOnError: true,
  });
  const margin = (options.refreshMarginSeconds ?? 60) * 1000;
  let current: { token: string; refreshAt: number } | undefined;
  let minting: Promise<string> | undefined;
  let endpoints: EndpointMap | undefined;

  const mint = async (): Promise<string> => {
    const form = {
      grant_type: "client_credentials" as const,
      client_assertion_type: ASSERTION_TYPE as typeof ASSERTION_TYPE,
      client_assertion: signClientAssertion(options.credentials, options.tokenUrl),
    };
    const { data } = await client.POST("/engines/oauth/token", {
      body: form,
      bodySerializer: (body) => new URLSearchParams(body).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    if (!data) throw new Error("the token endpoint answered without a token");
    endpoints = data.endpoints;
    current = {
      token: data.access_token,
      refreshAt: Date.now() + Math.max(0, data.expires_in * 1000 - margin),
    };
    return data.access_token;
  };

  return {
    getToken({ forceRefresh }) {
      if (!forceRefresh && current && Date.now() < current.refreshAt) return current.token;
      minting ??= mint().finally(() => {
        minting = undefined;
      });
      return minting;
    },
    endpoints: () => endpoints,
  };
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}
