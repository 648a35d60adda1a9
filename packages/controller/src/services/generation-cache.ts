/**
 * Values read from the store, valid for one value of a generation counter that triggers move on
 * every change to what they were read from (migration 8). The counter lives in the database, so
 * a change made by another connection or process moves it too. Read the generation before
 * reading the value, never after: a change committed in between then moves it past the value's.
 */
export class GenerationCache<Value> {
  private readonly entries = new Map<string, Value>();
  private generation = Number.NaN;

  /** @param maxEntries past this many the cache starts over, rather than track use. */
  constructor(private readonly maxEntries: number) {}

  /** Forgets every entry unless `generation` is the one they were read under. */
  validFor(generation: number): void {
    if (generation === this.generation) return;
    this.entries.clear();
    this.generation = generation;
  }

  get(key: string): Value | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: Value): void {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, value);
  }
}
