import type { DatabaseChanges } from "../store/database-changes";

/**
 * Values read from the store, valid for one value of a generation counter that triggers move on
 * every change to what they were read from (migration 8). The counter lives in the database, so
 * a change made by another connection or process moves it too. It is read only when the
 * database may have been written since it was last read (`DatabaseChanges`): a cache hit then
 * reads no table.
 */
export class GenerationCache<Value> {
  private readonly entries = new Map<string, Value>();
  private generation = Number.NaN;
  private ownChangesSeen = Number.NaN;
  private otherChangesSeen = Number.NaN;

  /**
   * @param maxEntries past this many the cache starts over, rather than track use.
   * @param readGeneration reads the counter.
   */
  constructor(
    private readonly maxEntries: number,
    private readonly changes: DatabaseChanges,
    private readonly readGeneration: () => number,
  ) {}

  /**
   * Forgets every entry unless what they were read from is unchanged. Call it before `get`, and
   * before reading a value to `set`, never after: a change committed in between then moves the
   * counter past the value's.
   */
  refresh(): void {
    const own = this.changes.own();
    const others = this.changes.others();
    if (own === this.ownChangesSeen && others === this.otherChangesSeen) return;
    const generation = this.readGeneration();
    if (generation !== this.generation) {
      this.entries.clear();
      this.generation = generation;
    }
    // A value read inside a transaction may be rolled back with it: look at the counter again.
    this.ownChangesSeen = this.changes.inTransaction ? Number.NaN : own;
    this.otherChangesSeen = others;
  }

  get(key: string): Value | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: Value): void {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, value);
  }
}
