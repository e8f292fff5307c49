import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { BUILD_INFO, CATALOGUE, type TlsVersionLabel } from './catalogue.js';
import {
  labelledCounter,
  labelledGauge,
  labelledHistogram,
  type LabelledCounter,
  type LabelledGauge,
  type LabelledHistogram,
} from './labelled-metric.js';

/** Maps what `tls.TLSSocket.getProtocol()` returns onto the bounded `version` label. */
export function tlsVersionLabel(protocol: string | null | undefined): TlsVersionLabel {
  return protocol === 'TLSv1.2' || protocol === 'TLSv1.3' ? protocol : 'unknown';
}

export interface MetricsOptions {
  /** sipgw version for `sipgw_build_info`; defaults to the version in package.json. */
  version?: string;
}

type Catalogue = typeof CATALOGUE;
type Recorder<D extends Catalogue[keyof Catalogue]> = D['type'] extends 'counter'
  ? LabelledCounter<D['labels']>
  : D['type'] extends 'gauge'
    ? LabelledGauge<D['labels']>
    : LabelledHistogram<D['labels']>;

/** One recorder per catalogue entry, by its member name, and the registry /metrics serves. */
export type Metrics = { readonly [K in keyof Catalogue]: Recorder<Catalogue[K]> } & { readonly registry: Registry };

/** A fresh registry with the whole catalogue, so several gateways can run in one process. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  new Gauge({
    name: BUILD_INFO.name,
    help: BUILD_INFO.help,
    labelNames: Object.keys(BUILD_INFO.labels),
    registers: [registry],
  }).set({ version: options.version ?? packageVersion(), node_version: process.version }, 1);

  const recorders = Object.fromEntries(
    Object.entries(CATALOGUE).map(([member, def]) => {
      const build = def.type === 'counter' ? labelledCounter : def.type === 'gauge' ? labelledGauge : labelledHistogram;
      return [member, build(registry, def)];
    }),
  );
  collectDefaultMetrics({ register: registry, prefix: 'sipgw_' });
  // Gauges named like counters (promtool flags them); the same counts remain by type in the unsuffixed families.
  for (const misnamed of ['active_handles_total', 'active_requests_total', 'active_resources_total']) {
    registry.removeSingleMetric(`sipgw_nodejs_${misnamed}`);
  }
  return { ...recorders, registry } as Metrics;
}

/** Walks up from this module (source or dist) to sipgw's package.json. */
function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sipgw' && pkg.version) return pkg.version;
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}
