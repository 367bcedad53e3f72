import type { Machine } from './machine.js';

/** One of the things measured side by side; the first subject of a section is always ours. */
export interface Subject {
  readonly id: string;
  readonly label: string;
  /** How it is started or called, in a sentence: printed under the table. */
  readonly how: string;
  /** False for a variant of ours shown for one figure: the table gets no ours/<id> column for it. */
  readonly ratio?: boolean;
}

/** One figure, measured once per round for each subject that has it. */
export interface Metric {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  readonly better: 'lower' | 'higher';
  /** Decimals shown. */
  readonly digits: number;
  /** Per subject id: one value per measured round, in round order. */
  readonly rounds: Readonly<Record<string, readonly number[]>>;
}

export interface Section {
  readonly id: 'coldStart' | 'coldStart22' | 'runtime' | 'config' | 'ssm';
  readonly title: string;
  readonly subjects: readonly Subject[];
  readonly metrics: readonly Metric[];
  /** What a metric's values are one per: `rounds` unless said (the cold start has one per spawn). */
  readonly repetitions?: 'rounds' | 'spawns';
  /** What the figures mean and what they leave out. */
  readonly notes: readonly string[];
  /** Samples finer than one value per round (e.g. each spawn), for the JSON file. */
  readonly samples: Readonly<Record<string, unknown>>;
}

/** A figure the project wants to hold, and whether this run holds it. */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly holds: boolean;
}

export interface Settings {
  readonly rounds: number;
  readonly [key: string]: number | string | boolean;
}

export interface BenchResults {
  readonly machine: Machine;
  readonly settings: Settings;
  readonly sections: readonly Section[];
  readonly targets: readonly TargetCheck[];
  /** From the start of the measurements to the end of the report, in seconds. */
  readonly wallSeconds: number;
  readonly loadAverageAtEnd: number;
}
