import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { LabelSpec, MetricDefinition } from './catalogue.js';

export type LabelValues<S extends LabelSpec> = { [K in keyof S]: S[K][number] };

/** A counter held for one label combination, for paths that count every packet. */
export interface BoundCounter {
  inc(amount?: number): void;
}

export interface LabelledCounter<S extends LabelSpec> {
  inc(labels: LabelValues<S>, amount?: number): void;
  /** Checks the labels once; the returned counter adds to that series with no further lookup. */
  bind(labels: LabelValues<S>): BoundCounter;
  /** Current value for one label combination (0 when never incremented). */
  value(labels: LabelValues<S>): Promise<number>;
}

export interface LabelledGauge<S extends LabelSpec> {
  inc(labels: LabelValues<S>, amount?: number): void;
  dec(labels: LabelValues<S>, amount?: number): void;
  set(labels: LabelValues<S>, value: number): void;
  /**
   * Reads the values at each scrape instead, from the state they describe: the gauge then holds
   * exactly the series the reader yields.
   */
  readAtScrape(read: () => Iterable<readonly [LabelValues<S>, number]>): void;
  value(labels: LabelValues<S>): Promise<number>;
}

export interface LabelledHistogram<S extends LabelSpec> {
  observe(labels: LabelValues<S>, value: number): void;
}

// Types stop unknown values at compile time; this stops them arriving through casts or `any`.
function checkLabels(name: string, spec: LabelSpec, labels: Record<string, string>): void {
  for (const [label, allowed] of Object.entries(spec)) {
    if (!allowed.includes(labels[label] as string)) {
      throw new RangeError(`${name}: label "${label}" must be one of ${allowed.join('|')}`);
    }
  }
  for (const label of Object.keys(labels)) {
    if (!Object.hasOwn(spec, label)) throw new RangeError(`${name}: unknown label "${label}"`);
  }
}

/** Every combination of label values, so each series is exported at 0 before its first event. */
function combinations(spec: LabelSpec): Record<string, string>[] {
  return Object.entries(spec).reduce<Record<string, string>[]>(
    (acc, [label, values]) => acc.flatMap((partial) => values.map((v) => ({ ...partial, [label]: v }))),
    [{}],
  );
}

function seriesKey(spec: LabelSpec, labels: Record<string, string>): string {
  return Object.keys(spec)
    .map((label) => labels[label])
    .join('\u0000');
}

async function read(metric: Gauge, labels: Record<string, string>): Promise<number> {
  const { values } = await metric.get();
  const found = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return found?.value ?? 0;
}

interface Cell {
  readonly labels: Record<string, string>;
  value: number;
}

/**
 * Counts in plain numbers, one cell per label combination, and hands them to prom-client only
 * when scraped: a prom-client increment hashes its labels each time, too slow for every packet.
 */
export function labelledCounter<S extends LabelSpec>(registry: Registry, def: MetricDefinition & { labels: S }): LabelledCounter<S> {
  const cells = new Map<string, Cell>();
  for (const labels of combinations(def.labels)) cells.set(seriesKey(def.labels, labels), { labels, value: 0 });
  const cell = (labels: LabelValues<S>): Cell => {
    checkLabels(def.name, def.labels, labels);
    return cells.get(seriesKey(def.labels, labels))!;
  };
  new Counter({
    name: def.name,
    help: def.help,
    labelNames: Object.keys(def.labels),
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, value } of cells.values()) this.inc(labels, value);
    },
  });
  return {
    inc(labels, amount = 1) {
      cell(labels).value += amount;
    },
    bind(labels) {
      const bound = cell(labels);
      return {
        inc(amount = 1) {
          bound.value += amount;
        },
      };
    },
    value: (labels) => Promise.resolve(cell(labels).value),
  };
}

export function labelledGauge<S extends LabelSpec>(registry: Registry, def: MetricDefinition & { labels: S }): LabelledGauge<S> {
  let readers: (() => Iterable<readonly [LabelValues<S>, number]>)[] = [];
  const metric: Gauge = new Gauge({
    name: def.name,
    help: def.help,
    labelNames: Object.keys(def.labels),
    registers: [registry],
    collect() {
      if (readers.length === 0) return;
      this.reset();
      for (const reader of readers) {
        for (const [labels, value] of reader()) {
          checkLabels(def.name, def.labels, labels);
          this.set(labels, value);
        }
      }
    },
  });
  if (!def.sparse) for (const labels of combinations(def.labels)) metric.set(labels, 0);
  return {
    inc(labels, amount = 1) {
      checkLabels(def.name, def.labels, labels);
      metric.inc(labels, amount);
    },
    dec(labels, amount = 1) {
      checkLabels(def.name, def.labels, labels);
      metric.dec(labels, amount);
    },
    set(labels, value) {
      checkLabels(def.name, def.labels, labels);
      metric.set(labels, value);
    },
    readAtScrape(reader) {
      readers = [...readers, reader];
    },
    value: (labels) => read(metric, labels),
  };
}

export function labelledHistogram<S extends LabelSpec>(registry: Registry, def: MetricDefinition & { labels: S }): LabelledHistogram<S> {
  const metric = new Histogram({
    name: def.name,
    help: def.help,
    labelNames: Object.keys(def.labels),
    buckets: [...(def.buckets ?? [])],
    registers: [registry],
  });
  for (const labels of combinations(def.labels)) metric.zero(labels);
  return {
    observe(labels, value) {
      checkLabels(def.name, def.labels, labels);
      metric.observe(labels, value);
    },
  };
}
