/**
 * The read caches look at their generation counter only when the database may have been written:
 * by this connection (at once) or by another one (from the next turn of the event loop, when a
 * request sent after that commit can first be read). A hit with nothing written reads no table.
 */
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { GenerationCache } from "../../src/services/generation-cache";
import { DatabaseChanges } from "../../src/store/database-changes";

let dir: string;
let db: Database.Database;
let other: Database.Database;
let cache: GenerationCache<string>;
let counterReads: number;

function open(file: string): Database.Database {
  const connection = new Database(file);
  connection.pragma("journal_mode = WAL");
  return connection;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "stowage-generation-"));
  db = open(path.join(dir, "cache.db"));
  db.exec(`
    CREATE TABLE items (id TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE unrelated (value TEXT NOT NULL);
    CREATE TABLE item_changes (generation INTEGER NOT NULL);
    INSERT INTO item_changes VALUES (0);
    CREATE TRIGGER items_changed AFTER UPDATE ON items
    BEGIN
      UPDATE item_changes SET generation = generation + 1;
    END;
    INSERT INTO items VALUES ('a', 'first');
  `);
  other = open(path.join(dir, "cache.db"));
  const counter = db.prepare<[], number>("SELECT generation FROM item_changes").pluck();
  counterReads = 0;
  cache = new GenerationCache(10, new DatabaseChanges(db), () => {
    counterReads++;
    return counter.get() ?? 0;
  });
});
afterEach(() => {
  db.close();
  other.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What a caller does: refresh, then the kept value or the row (then kept). */
function cachedValue(): string {
  cache.refresh();
  const hit = cache.get("a");
  if (hit !== undefined) return hit;
  const row = db.prepare<[], string>("SELECT value FROM items WHERE id = 'a'").pluck().get();
  if (row === undefined) throw new Error("the row is gone");
  cache.set("a", row);
  return row;
}

describe("generation cache", () => {
  it("answers a hit without reading the counter while nothing is written", async () => {
    expect(cachedValue()).toBe("first");
    expect(counterReads).toBe(1);
    expect(cachedValue()).toBe("first");
    await nextTurn();
    expect(cachedValue()).toBe("first");
    expect(counterReads).toBe(1);
  });

  it("sees a change this connection makes at once", () => {
    expect(cachedValue()).toBe("first");
    db.prepare("UPDATE items SET value = 'second' WHERE id = 'a'").run();
    expect(cachedValue()).toBe("second");
    expect(counterReads).toBe(2);
  });

  it("reads the counter again after an unrelated write, and keeps its entries", () => {
    expect(cachedValue()).toBe("first");
    db.prepare("INSERT INTO unrelated VALUES ('x')").run();
    const rows = jest.spyOn(db, "prepare");
    expect(cachedValue()).toBe("first");
    expect(counterReads).toBe(2);
    expect(rows).not.toHaveBeenCalled();
  });

  it("sees another connection's commit from the next turn of the event loop", async () => {
    expect(cachedValue()).toBe("first");
    other.prepare("UPDATE items SET value = 'theirs' WHERE id = 'a'").run();
    await nextTurn();
    expect(cachedValue()).toBe("theirs");
  });

  it("never answers a value read inside a transaction that was rolled back", () => {
    expect(cachedValue()).toBe("first");
    expect(() =>
      db.transaction(() => {
        db.prepare("UPDATE items SET value = 'uncommitted' WHERE id = 'a'").run();
        expect(cachedValue()).toBe("uncommitted");
        throw new Error("rolled back");
      })(),
    ).toThrow("rolled back");
    expect(cachedValue()).toBe("first");
  });
});
