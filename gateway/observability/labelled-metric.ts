import { Counter, Gauge, type Registry } from 'prom-client';

/** Each label name with the complete list of values it may take. */
export type LabelSpec = Readonly<Record<string, readonly string[]>>;
export type LabelValues<S extends LabelSpec> = { [K in keyof S]: S[K][number] };

export interface LabelledCounter<S extends LabelSpec> {
  inc(labels: LabelValues<S>, amount?: number): void;
  /** Current value for one label combination (0 when never incremented). */
  value(labels: LabelValues<S>): Promise<number>;
}

export interface LabelledGauge<S extends LabelSpec> extends LabelledCounter<S> {
  dec(labels: LabelValues<S>, amount?: number): void;
  set(labels: LabelValues<S>, value: number): void;
}

interface MetricDefinition<S extends LabelSpec> {
  registry: Registry;
  name: string;
  help: string;
  labels: S;
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

async function read(metric: Counter | Gauge, labels: Record<string, string>): Promise<number> {
  const { values } = await metric.get();
  const found = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return found?.value ?? 0;
}

export function labelledCounter<S extends LabelSpec>(def: MetricDefinition<S>): LabelledCounter<S> {
  const metric = new Counter({
    name: def.name,
    help: def.help,
    labelNames: Object.keys(def.labels),
    registers: [def.registry],
  });
  for (const labels of combinations(def.labels)) metric.inc(labels, 0);
  return {
    inc(labels, amount = 1) {
      checkLabels(def.name, def.labels, labels);
      metric.inc(labels, amount);
    },
    value: (labels) => read(metric, labels),
  };
}

export function labelledGauge<S extends LabelSpec>(def: MetricDefinition<S>): LabelledGauge<S> {
  const metric = new Gauge({
    name: def.name,
    help: def.help,
    labelNames: Object.keys(def.labels),
    registers: [def.registry],
  });
  for (const labels of combinations(def.labels)) metric.set(labels, 0);
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
    value: (labels) => read(metric, labels),
  };
}
