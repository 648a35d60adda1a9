import type { Db } from "./database";

export interface IdempotencyRow {
  principal: string;
  /** SHA-256 of the client's key: the key itself is what unseals the answer, so it is not stored. */
  key_hash: string;
  operation: string;
  /** HMAC of the request body under a key derived from the client's key. */
  request_mac: string;
  status: number;
  /** The first answer, sealed with AES-256-GCM under a key derived from the client's key. */
  sealed: Buffer;
  created_at: string;
}

export class IdempotencyStore {
  private readonly findStatement;
  private readonly insertStatement;
  private readonly expireStatement;

  constructor(db: Db) {
    this.findStatement = db.prepare<[string, string], IdempotencyRow>(
      "SELECT * FROM idempotency_records WHERE principal = ? AND key_hash = ?",
    );
    this.insertStatement = db.prepare<IdempotencyRow>(
      `INSERT INTO idempotency_records (principal, key_hash, operation, request_mac, status, sealed, created_at)
       VALUES (@principal, @key_hash, @operation, @request_mac, @status, @sealed, @created_at)`,
    );
    this.expireStatement = db.prepare<[string]>(
      "DELETE FROM idempotency_records WHERE created_at < ?",
    );
  }

  find(principal: string, keyHash: string): IdempotencyRow | undefined {
    return this.findStatement.get(principal, keyHash);
  }

  insert(row: IdempotencyRow): void {
    this.insertStatement.run(row);
  }

  expireBefore(at: string): number {
    return this.expireStatement.run(at).changes;
  }
}
