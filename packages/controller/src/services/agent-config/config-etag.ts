import { createHash } from "node:crypto";
import { canonicalJson } from "../canonical-json";

/** SHA-256 of the canonical JSON: equal documents, however their members were ordered, agree. */
export function documentDigest(document: unknown): string {
  return createHash("sha256").update(canonicalJson(document), "utf8").digest("base64url");
}

/**
 * A strong entity tag (RFC 9110 section 8.8.3) for a rendered document. The version prefix keeps
 * v1 and v2 tags apart even for documents that happened to hash alike in some future layout.
 */
export function configEtag(version: "v1" | "v2", document: unknown): string {
  return `"${version}-${documentDigest(document)}"`;
}
