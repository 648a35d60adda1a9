import type { Db } from "./database";

/**
 * Tells whether the database may have been written since a read, without reading a table: a read
 * takes the WAL read lock (two `fcntl` calls, 3 to 13 µs a statement under load), which was most
 * of what a cached answer cost.
 */
export class DatabaseChanges {
  private readonly ownStatement;
  private readonly othersStatement;
  private othersVersion = 0;
  private othersRead = false;

  constructor(private readonly db: Db) {
    this.ownStatement = db.prepare<[], number>("SELECT total_changes()").pluck();
    this.othersStatement = db.prepare<[], number>("PRAGMA data_version").pluck();
  }

  /**
   * Rows this connection has inserted, updated or deleted since it opened, triggers' included.
   * SQLite keeps it in memory (no lock, no I/O). It never goes back, not even on a rollback.
   */
  own(): number {
    return this.ownStatement.get() ?? 0;
  }

  /**
   * Moves when another connection or process commits a change. It takes the lock, so it is read
   * once per turn of the event loop: a request read from its socket in this turn was sent after
   * every commit it could have waited for, and those are all in the value read in this turn.
   */
  others(): number {
    if (!this.othersRead) {
      this.othersVersion = this.othersStatement.get() ?? 0;
      this.othersRead = true;
      setImmediate(() => {
        this.othersRead = false;
      }).unref();
    }
    return this.othersVersion;
  }

  /** A transaction is open: what it wrote may still be rolled back, which no counter shows. */
  get inTransaction(): boolean {
    return this.db.inTransaction;
  }
}
