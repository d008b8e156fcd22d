// What the HTTP API needs of the training side: a way to run a cycle now. The scheduler (gpu-worker/) implements
// it; the API (functions/) only sees this interface, wired in by the process entry (runtime/).

export interface TrainingRun {
  app?: string;
  users?: string[];
  wait: boolean;
  /** A scheduled cycle (the interval timer): apps whose settings say `training.schedule: manual` sit it out. */
  scheduled?: boolean;
}

/** The worker's handle, where one runs in (or is reachable from) this process. */
export interface TrainingControl {
  /** Enqueues a training cycle now; with `wait`, resolves when its jobs have finished. Returns job ids. */
  runCycle(run: TrainingRun): Promise<string[]>;
}
