export interface PhaseTiming {
  phase: string;
  duration_ms: number;
}

/** Times the phases of a job in order, for the manifest's `timings`. */
export class PhaseClock {
  readonly startedAt = new Date();
  private readonly timings: PhaseTiming[] = [];

  async time<T>(phase: string, work: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.timings.push({ phase, duration_ms: Math.round(performance.now() - start) });
    }
  }

  finish(): { started_at: string; finished_at: string; timings: PhaseTiming[] } {
    return {
      started_at: this.startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      timings: [...this.timings],
    };
  }
}
