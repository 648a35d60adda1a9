import { availableParallelism } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import {
  FORMAT_WORKER_SOURCE,
  type FormatRequest,
  type FormatResponse,
  type FormatWorkerData,
} from "./format-worker";

/**
 * Prettier is most of the generator's time and runs on one thread, so formatting goes to a small
 * pool of worker threads: the main thread keeps bundling and emitting the next spec meanwhile.
 * The pool is created on first use and its idle workers never keep the process alive; the CLI
 * still closes it when done (`closeFormatter`), so no thread outlives the command.
 *
 * One core is left to the main thread. On 2 cores a second worker measured worse: each worker
 * loads and warms up Prettier on its own (a cold `check` took about 1.5 s more CPU than with one
 * worker), and three busy threads on two cores made the cold CLI slower, while warm runs gained
 * nothing consistent on a loaded machine.
 */
const MAX_WORKERS = 2;

interface Job {
  id: number;
  source: string;
  resolve(formatted: string): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  job?: Job;
}

class FormatPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly data: FormatWorkerData,
  ) {}

  /** Starts the workers now, so they load Prettier while the caller does other work. */
  start(): void {
    while (this.slots.length < this.size) this.slots.push(this.spawn());
  }

  format(source: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, source, resolve, reject });
      this.start();
      this.dispatch();
    });
  }

  /** Stops every worker; jobs still pending fail with `reason`. */
  async close(reason = new Error("the formatter was closed before this file was formatted")) {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(reason);
    const slots = this.slots.splice(0);
    for (const slot of slots) slot.job?.reject(reason);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.job || this.queue.length === 0) continue;
      const job = this.takeLargest();
      slot.job = job;
      // A busy worker keeps the process alive until its answer arrives.
      slot.worker.ref();
      slot.worker.postMessage({ id: job.id, source: job.source } satisfies FormatRequest);
    }
  }

  /**
   * Largest source first: files arrive in bursts of seven per spec, one or two of them much larger
   * than the rest. With several workers, starting the large ones first keeps them all busy until
   * the end instead of one finishing a large file alone; with one worker the order is neutral.
   */
  private takeLargest(): Job {
    let largest = 0;
    for (let index = 1; index < this.queue.length; index++)
      if (this.queue[index].source.length > this.queue[largest].source.length) largest = index;
    return this.queue.splice(largest, 1)[0];
  }

  private spawn(): Slot {
    const worker = new Worker(FORMAT_WORKER_SOURCE, {
      eval: true,
      workerData: this.data,
      // Not the parent's flags: under ts-node (tests, benchmarks) `-r ts-node/register` would load
      // TypeScript into the worker (about 0.6 s of CPU) for a worker that is plain JavaScript.
      execArgv: [],
    });
    const slot: Slot = { worker };
    // Idle until a job is dispatched: an idle pool must not keep a library user's process alive.
    worker.unref();
    worker.on("message", (response: FormatResponse) => {
      const job = slot.job;
      slot.job = undefined;
      if (job?.id === response.id) {
        if (response.ok) job.resolve(response.formatted);
        else job.reject(new Error(response.message));
      }
      if (this.queue.length === 0) worker.unref();
      this.dispatch();
    });
    worker.on("error", (error) => this.fail(slot, error));
    worker.on("exit", (code) =>
      this.fail(slot, new Error(`a format worker exited (code ${code})`)),
    );
    return slot;
  }

  /**
   * A worker died (out of memory, or it could not load): every pending job fails with its error
   * rather than being retried blindly, and the next call starts a fresh pool.
   */
  private fail(slot: Slot, error: Error): void {
    if (this.closed || !this.slots.includes(slot)) return;
    if (pool === this) pool = undefined;
    void this.close(error);
  }
}

let pool: FormatPool | undefined;
let configFile: string | undefined;

/** Prettier's settings are those of the working directory when formatting first ran, as before. */
function projectConfigFile(): string {
  return (configFile ??= path.join(process.cwd(), "generated.ts"));
}

/** One worker even on one core, so formatting has one implementation: the worker's. */
function workerCount(): number {
  return Math.max(1, Math.min(MAX_WORKERS, availableParallelism() - 1));
}

function currentPool(): FormatPool {
  pool ??= new FormatPool(workerCount(), {
    prettier: require.resolve("prettier"),
    configFile: projectConfigFile(),
  });
  return pool;
}

/** Formats with the project's Prettier settings (see FORMAT_WORKER_SOURCE), in a worker. */
export async function formatTypeScript(source: string): Promise<string> {
  return currentPool().format(source);
}

/** Starts the format workers ahead of the first file, so loading Prettier overlaps other work. */
export function prepareFormatter(): void {
  currentPool().start();
}

/** Stops the format workers; formatting again later starts a new pool. */
export async function closeFormatter(): Promise<void> {
  const closing = pool;
  pool = undefined;
  await closing?.close();
}
