import { Writable } from "node:stream";
import {
  alsoDisplayed,
  formatBytes,
  formatDuration,
  ProgressDisplay,
  type ProgressDisplayOptions,
} from "../src/progress-display";

const MiB = 1024 * 1024;
/** Any C0 or C1 control character but the newline ending each line. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

/** A real Writable in memory, as a terminal (`isTTY`) or as a pipe. */
function screen(options: { tty: boolean; columns?: number }) {
  let text = "";
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string, _encoding, callback) {
      text += chunk;
      callback();
    },
  });
  Object.assign(stream, { isTTY: options.tty, columns: options.columns });
  return { stream, text: () => text };
}

/** A display on a clock the test moves by hand. */
function displayOn(
  out: Writable,
  options: ProgressDisplayOptions = {},
): { display: ProgressDisplay; advance(ms: number): void } {
  let now = 1_000_000;
  const display = new ProgressDisplay(out, {
    now: () => now,
    env: {},
    tickMs: 0,
    ...options,
  });
  return { display, advance: (ms) => (now += ms) };
}

describe("ProgressDisplay off a terminal", () => {
  it("prints a line per phase and at most one byte-count line per interval, no control characters", () => {
    const out = screen({ tty: false });
    const { display, advance } = displayOn(out.stream, { plainLineMs: 10_000 });
    display.begin("backup app-db");
    display.update("snapshot");
    advance(300);
    display.update("upload", 64 * 1024);
    advance(2000);
    display.update("upload", 10 * MiB); // within 10 s of the last line: not printed
    advance(8000);
    display.update("upload", 40 * MiB); // 10 s after the phase's first line
    advance(3000);
    display.update("upload", 50 * MiB);
    display.update("post-backup");
    advance(200);
    display.end("done", "50.0 MiB stored at file:///var/backups/app-db/a.sqlite.gz");

    expect(out.text()).toBe(
      [
        "backup app-db: snapshot",
        "backup app-db: upload 64.0 KiB",
        "backup app-db: upload 40.0 MiB at 4.0 MiB/s",
        "backup app-db: post-backup",
        "backup app-db: done after 13 s, 50.0 MiB stored at file:///var/backups/app-db/a.sqlite.gz",
        "",
      ].join("\n"),
    );
    expect(out.text()).not.toMatch(CONTROL);
  });

  it("never colours, and cleans control characters out of labels, phases and details", () => {
    const out = screen({ tty: false });
    // NO_COLOR unset: colour would be allowed on a terminal, but this is not one.
    const { display, advance } = displayOn(out.stream, { env: {} });
    display.begin("restore evil\u001b[2Jname");
    display.update("ver\rify");
    advance(1500);
    display.end("failed", "line\none\u009bx");

    expect(out.text()).toBe(
      "restore evil [2Jname: ver ify\nrestore evil [2Jname: failed after 1.5 s, line one x\n",
    );
    expect(out.text()).not.toMatch(CONTROL);
  });

  it("writes asides as they are", () => {
    const out = screen({ tty: false });
    const { display } = displayOn(out.stream);
    display.begin("verify app-db");
    display.update("verify", 10);
    display.aside(() => out.stream.write("a log line\n"));
    expect(out.text()).toBe("verify app-db: verify 10 B\na log line\n");
  });
});

describe("ProgressDisplay on a terminal", () => {
  it("rewrites one line in place, throttled, and ends it with a coloured outcome", () => {
    const out = screen({ tty: true });
    const { display, advance } = displayOn(out.stream, { redrawMs: 250 });
    display.begin("backup app-db");
    display.update("snapshot");
    advance(100);
    display.update("upload", MiB); // a phase change: drawn at once
    advance(100);
    display.update("upload", 2 * MiB); // 100 ms after the last draw: skipped
    advance(1000);
    display.update("upload", 3 * MiB);
    display.end("done", "3.0 MiB stored");

    expect(out.text()).toBe(
      "\r\x1b[Kbackup app-db: snapshot [0.0 s]" +
        "\r\x1b[Kbackup app-db: upload 1.0 MiB [0.1 s]" +
        "\r\x1b[Kbackup app-db: upload 3.0 MiB at 2.7 MiB/s [1.2 s]" +
        "\r\x1b[K" +
        "backup app-db: \x1b[32mdone\x1b[39m after 1.2 s, 3.0 MiB stored\n",
    );
  });

  it("respects NO_COLOR", () => {
    const out = screen({ tty: true });
    const { display, advance } = displayOn(out.stream, { env: { NO_COLOR: "1" } });
    display.begin("restore app-db");
    display.update("verify");
    advance(2000);
    display.end("failed");

    expect(out.text()).toBe(
      "\r\x1b[Krestore app-db: verify [0.0 s]\r\x1b[Krestore app-db: failed after 2.0 s\n",
    );
  });

  it("erases the live line around an aside and draws it again below", () => {
    const out = screen({ tty: true });
    const { display, advance } = displayOn(out.stream, { env: { NO_COLOR: "1" } });
    display.aside(() => out.stream.write("before the first task\n"));
    display.begin("backup app-db");
    display.update("dump", 2048);
    advance(500);
    display.aside(() => out.stream.write('{"msg":"a log line"}\n'));
    display.end("done");
    display.aside(() => out.stream.write("after\n"));

    expect(out.text()).toBe(
      "before the first task\n" +
        "\r\x1b[Kbackup app-db: dump 2.0 KiB [0.0 s]" +
        "\r\x1b[K" +
        '{"msg":"a log line"}\n' +
        "\r\x1b[Kbackup app-db: dump 2.0 KiB [0.5 s]" +
        "\r\x1b[K" +
        "backup app-db: done after 0.5 s\n" +
        "after\n",
    );
  });

  it("cuts the live line to the terminal's width, never the last line", () => {
    const out = screen({ tty: true, columns: 20 });
    const { display } = displayOn(out.stream, { env: { NO_COLOR: "1" } });
    display.begin("backup a-long-deployment-name");
    display.update("upload", 5 * MiB);
    display.end("done");

    expect(out.text()).toBe(
      "\r\x1b[Kbackup a-long-deplo" +
        "\r\x1b[K" +
        "backup a-long-deployment-name: done after 0.0 s\n",
    );
  });

  it("ticks while nothing reports, so the elapsed time moves", () => {
    jest.useFakeTimers();
    try {
      const out = screen({ tty: true });
      const { display, advance } = displayOn(out.stream, { env: { NO_COLOR: "1" }, tickMs: 1000 });
      display.begin("restore app-db");
      display.update("verify");
      advance(1000);
      jest.advanceTimersByTime(1000);
      display.end("done");
      advance(5000);
      jest.advanceTimersByTime(5000); // stopped with the task
      expect(out.text()).toBe(
        "\r\x1b[Krestore app-db: verify [0.0 s]" +
          "\r\x1b[Krestore app-db: verify [1.0 s]" +
          "\r\x1b[Krestore app-db: done after 1.0 s\n",
      );
    } finally {
      jest.useRealTimers();
    }
  });
});

describe("alsoDisplayed", () => {
  it("passes each update to the display and answers the sink's own result", async () => {
    const out = screen({ tty: false });
    const { display } = displayOn(out.stream);
    display.begin("backup app-db");
    const sent: [string, number | undefined][] = [];
    const sink = {
      update: async (phase: string, bytes?: number) => void sent.push([phase, bytes]),
    };
    await alsoDisplayed(sink, display).update("dump", 5);
    expect(sent).toEqual([["dump", 5]]);
    expect(out.text()).toBe("backup app-db: dump 5 B\n");
    expect(alsoDisplayed(sink, undefined)).toBe(sink);
  });
});

describe("formatting", () => {
  it("formats sizes and durations", () => {
    expect([0, 1023, 1024, 1536, 5 * MiB, 3 * 1024 * MiB].map(formatBytes)).toEqual([
      "0 B",
      "1023 B",
      "1.0 KiB",
      "1.5 KiB",
      "5.0 MiB",
      "3.0 GiB",
    ]);
    expect([0, 420, 9_940, 42_000, 187_000, 7_500_000].map(formatDuration)).toEqual([
      "0.0 s",
      "0.4 s",
      "9.9 s",
      "42 s",
      "3 min 07 s",
      "2 h 05 min",
    ]);
  });
});
