import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRIC_CATALOGUE } from '../../gateway/observability/index.js';
import { metricsTable, README, withTable } from '../../scripts/metrics-table.js';

describe('README metrics table', () => {
  it('is the table generated from the catalogue (run `npm run metrics-table` after changing it)', () => {
    const readme = readFileSync(README, 'utf8');
    expect(withTable(readme, metricsTable())).toBe(readme);
  });

  it('has one row per catalogue metric, naming each label', () => {
    const table = metricsTable();
    const rows = table.split('\n').slice(2);
    expect(rows).toHaveLength(METRIC_CATALOGUE.length);
    METRIC_CATALOGUE.forEach((metric, i) => {
      expect(rows[i]).toContain(`| \`${metric.name}\` | ${metric.type} |`);
      for (const label of Object.keys(metric.labels)) expect(rows[i]).toContain(`\`${label}\``);
    });
    expect(table).toContain('`suite` (AEAD_AES_256_GCM, AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, none, unknown)');
  });
});
