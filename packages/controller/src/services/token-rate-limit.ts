/**
 * A token bucket per client for the token endpoint: `burst` calls at once, then one every
 * `60 / perMinute` seconds. In memory: one controller process serves a database, and a restart
 * forgetting the buckets only grants a burst.
 */
export class TokenRateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly burst: number,
  ) {}

  /** Takes one call from the client's bucket: 0 when allowed, else the seconds to wait. */
  take(client: string, now: number = Date.now()): number {
    const refillPerMs = this.perMinute / 60_000;
    const bucket = this.buckets.get(client) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * refillPerMs);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      this.buckets.set(client, bucket);
      this.forgetFullBuckets(now);
      return 0;
    }
    this.buckets.set(client, bucket);
    return Math.max(1, Math.ceil((1 - bucket.tokens) / refillPerMs / 1000));
  }

  /** Keeps the map bounded: a bucket that refilled completely is the same as no bucket. */
  private forgetFullBuckets(now: number): void {
    if (this.buckets.size < 10_000) return;
    const refillPerMs = this.perMinute / 60_000;
    for (const [client, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * refillPerMs >= this.burst)
        this.buckets.delete(client);
    }
  }
}
