import { generateKeyPairSync } from "node:crypto";
import { createAgentClient } from "@stowage/agent-client";
import { mintAgentToken, publicJwk } from "./token";

/**
 * The other side, to try the server by hand (curl cannot sign the ES256 token): enrolls with a
 * fresh key, then fetches the config as v1 and v2 and polls once with the ETag.
 *
 *   npm run demo-agent -w examples/custom-controller -- http://127.0.0.1:8080 <enrollment token>
 */
async function main(baseUrl: string, enrollmentToken: string): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const enrollment = await createAgentClient({ baseUrl, retry: false }).POST("/engines/enroll", {
    body: {
      enrollment_token: enrollmentToken,
      public_key: publicJwk(publicKey),
      agent_version: "demo-agent/0.1.0",
    },
  });
  if (!enrollment.data) {
    throw new Error(
      `enrollment: ${enrollment.response.status} ${JSON.stringify(enrollment.error)}`,
    );
  }
  const { instance } = enrollment.data;
  console.log(`enrolled as ${instance}`);

  const client = createAgentClient({
    baseUrl,
    // A fresh token per call: they live five minutes and cost one signature.
    auth: { getToken: () => mintAgentToken(privateKey, instance) },
  });
  const params = { path: { instance } };
  const v1 = await client.GET("/engines/config/{instance}", { params });
  console.log(`v1: ${v1.response.status} ETag ${v1.response.headers.get("etag")}`);
  console.log(JSON.stringify(v1.data, null, 2));
  const v2 = await client.requestAs(
    "get",
    "/engines/config/{instance}",
    "application/vnd.stowage.agent-config.v2+json",
    { params },
  );
  console.log(`v2: ${v2.response.status} ETag ${v2.response.headers.get("etag")}`);
  console.log(JSON.stringify(v2.data, null, 2));
  const again = await client.GET("/engines/config/{instance}", {
    params: { ...params, header: { "If-None-Match": v1.response.headers.get("etag") ?? "" } },
  });
  console.log(`v1 again with If-None-Match: ${again.response.status}`);
}

const [baseUrl, token] = process.argv.slice(2);
if (!baseUrl || !token) {
  console.error("usage: demo-agent <controller URL> <enrollment token>");
  process.exitCode = 2;
} else {
  main(baseUrl, token).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
