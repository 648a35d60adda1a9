import { once } from "node:events";
import { Writable } from "node:stream";
import { finished } from "node:stream/promises";

/**
 * One writable end that copies every chunk to each of `sinks`, so a stream produced once (a dump,
 * gzip, encryption, sha256) lands in several files. A chunk is taken only once every sink has
 * accepted it, so the slowest sink sets the pace and nothing piles up in memory; it finishes once
 * every sink has, and the first sink's failure fails it (and with it the pipeline).
 */
export function fanOut(sinks: readonly Writable[]): Writable {
  const fan: Writable = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const waits = sinks.filter((sink) => !sink.write(chunk)).map((sink) => once(sink, "drain"));
      Promise.all(waits).then(() => callback(), callback);
    },
    final(callback) {
      sinks.forEach((sink) => sink.end());
      Promise.all(sinks.map((sink) => finished(sink))).then(() => callback(), callback);
    },
    destroy(error, callback) {
      sinks.forEach((sink) => sink.destroy(error ?? undefined));
      callback(error);
    },
  });
  sinks.forEach((sink) => sink.on("error", (error: Error) => fan.destroy(error)));
  return fan;
}
