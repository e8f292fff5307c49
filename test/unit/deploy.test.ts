// deploy/: the Grafana dashboard and the Prometheus alert rules query only metrics the gateway
// exports (the catalogue), with label values it can take, and promtool accepts and tests the rules.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { METRIC_CATALOGUE, type MetricDefinition } from '../../gateway/observability/index.js';
import { requirePeer } from '../peers/availability.js';

const DASHBOARD_FILE = fileURLToPath(new URL('../../deploy/grafana/sipgw.json', import.meta.url));
const RULES_FILE = fileURLToPath(new URL('../../deploy/prometheus/sipgw-rules.yml', import.meta.url));
const RULES_TEST_FILE = fileURLToPath(new URL('../../deploy/prometheus/sipgw-rules.test.yml', import.meta.url));

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
const ROW_TITLES = ['Calls & legs', 'Security', 'Media quality', 'SIP/TLS errors', 'Certificates', 'Process'];

// --- A small PromQL scanner: enough to find every metric selector and function call in an expression.

const AGGREGATIONS = new Set([
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile',
]);
const FUNCTIONS = new Set([
  ...AGGREGATIONS,
  'abs', 'absent', 'absent_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min', 'day_of_month',
  'day_of_week', 'day_of_year', 'days_in_month', 'delta', 'deriv', 'exp', 'floor', 'histogram_quantile',
  'holt_winters', 'hour', 'idelta', 'increase', 'irate', 'label_join', 'label_replace', 'ln', 'log2', 'log10',
  'minute', 'month', 'predict_linear', 'rate', 'resets', 'round', 'scalar', 'sgn', 'sort', 'sort_desc', 'sqrt',
  'time', 'timestamp', 'vector', 'year', 'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time',
  'count_over_time', 'quantile_over_time', 'stddev_over_time', 'stdvar_over_time', 'last_over_time',
  'present_over_time',
]);
/** Keywords followed by a parenthesised list of label names, not by an expression. */
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const OPERATOR_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);
/** Labels Prometheus attaches to every scraped series. */
const TARGET_LABELS = ['job', 'instance'];

interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

interface Selector {
  /** Empty for a bare `{…}` selector. */
  name: string;
  matchers: Matcher[];
}

const MATCHER = /\s*,?\s*([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/y;

/** Reads the matchers of a `{…}` starting at `open`; returns them and the index after the `}`. */
function readMatchers(expr: string, open: number): { matchers: Matcher[]; end: number } {
  const matchers: Matcher[] = [];
  let i = open + 1;
  for (;;) {
    MATCHER.lastIndex = i;
    const match = MATCHER.exec(expr);
    if (!match) break;
    const [, label, op, quoted] = match as unknown as [string, string, Matcher['op'], string];
    matchers.push({ label, op, value: quoted.slice(1, -1) });
    i = MATCHER.lastIndex;
  }
  const close = expr.indexOf('}', i);
  if (close < 0 || expr.slice(i, close).replace(/[\s,]/g, '') !== '') throw new Error(`cannot read the selector at ${open} in ${expr}`);
  return { matchers, end: close + 1 };
}

function scanPromql(expr: string): { selectors: Selector[]; calls: string[] } {
  const selectors: Selector[] = [];
  const calls: string[] = [];
  const nextNonSpace = (from: number): number => {
    let i = from;
    while (i < expr.length && /\s/.test(expr[i] as string)) i++;
    return i;
  };
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] as string;
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += expr[j] === '\\' ? 2 : 1;
      i = j + 1;
    } else if (c === '[') {
      // A range or subquery: durations, or Grafana's $__rate_interval.
      const close = expr.indexOf(']', i);
      i = close < 0 ? expr.length : close + 1;
    } else if (c === '$') {
      i += /^\$(\{[^}]*\}|\w+)/.exec(expr.slice(i))?.[0].length ?? 1;
    } else if (c === '{') {
      const { matchers, end } = readMatchers(expr, i);
      selectors.push({ name: '', matchers });
      i = end;
    } else if (/[0-9.]/.test(c)) {
      i += (/^[0-9.][\w.]*/.exec(expr.slice(i)) as RegExpExecArray)[0].length;
    } else if (/[A-Za-z_:]/.test(c)) {
      const word = (/^[A-Za-z_:][\w:]*/.exec(expr.slice(i)) as RegExpExecArray)[0];
      const next = nextNonSpace(i + word.length);
      const lower = word.toLowerCase();
      if (LABEL_LIST_KEYWORDS.has(lower)) {
        const close = expr[next] === '(' ? expr.indexOf(')', next) : next - 1;
        i = close < 0 ? expr.length : close + 1;
      } else if (OPERATOR_KEYWORDS.has(lower)) {
        i = next;
      } else if (expr[next] === '(' || AGGREGATIONS.has(word)) {
        calls.push(word);
        i = next;
      } else if (expr[next] === '{') {
        const { matchers, end } = readMatchers(expr, next);
        selectors.push({ name: word, matchers });
        i = end;
      } else {
        selectors.push({ name: word, matchers: [] });
        i = next;
      }
    } else {
      i++;
    }
  }
  return { selectors, calls };
}

// --- The check itself: every name and label value against the catalogue.

const CATALOGUE_BY_NAME = new Map<string, MetricDefinition>(METRIC_CATALOGUE.map((metric) => [metric.name, metric]));
const UP: MetricDefinition = { name: 'up', type: 'gauge', help: "Prometheus' own scrape health.", labels: {} };

/** The catalogue entry a series name belongs to (histogram series carry _bucket, _sum, _count) and its extra labels. */
function resolveSeries(name: string): { metric: MetricDefinition; extraLabels: string[] } | undefined {
  if (name === 'up') return { metric: UP, extraLabels: [] };
  const exact = CATALOGUE_BY_NAME.get(name);
  if (exact) return { metric: exact, extraLabels: [] };
  const suffixed = /^(.+)_(bucket|sum|count)$/.exec(name);
  const base = suffixed && CATALOGUE_BY_NAME.get(suffixed[1] as string);
  if (!base || base.type !== 'histogram') return undefined;
  return { metric: base, extraLabels: suffixed[2] === 'bucket' ? ['le'] : [] };
}

/** Label values a matcher names: a literal, or a regex that is only an alternation of literals; undefined otherwise. */
function literalValues(matcher: Matcher): string[] | undefined {
  if (matcher.value.includes('$')) return undefined; // a Grafana variable
  if (matcher.op === '=' || matcher.op === '!=') return [matcher.value];
  return /^[\w.-]+(\|[\w.-]+)*$/.test(matcher.value) ? matcher.value.split('|') : undefined;
}

/** What is wrong with an expression's names, one line per problem; empty when it uses only the catalogue. */
function catalogueProblems(expr: string): string[] {
  const problems: string[] = [];
  const { selectors, calls } = scanPromql(expr);
  for (const call of calls) if (!FUNCTIONS.has(call)) problems.push(`${call}: not a PromQL function`);
  for (const { name, matchers } of selectors) {
    if (name === '') {
      problems.push('a selector without a metric name');
      continue;
    }
    if (name !== 'up' && !name.startsWith('sipgw_')) {
      problems.push(`${name}: not a sipgw metric`);
      continue;
    }
    const series = resolveSeries(name);
    if (!series) {
      problems.push(`${name}: not in the metrics catalogue`);
      continue;
    }
    for (const matcher of matchers) {
      const known = series.metric.labels[matcher.label];
      if (!known && !TARGET_LABELS.includes(matcher.label) && !series.extraLabels.includes(matcher.label)) {
        problems.push(`${name}: has no label ${matcher.label}`);
        continue;
      }
      // An empty list means the values are not enumerable (version strings).
      if (!known || known.length === 0) continue;
      for (const value of literalValues(matcher) ?? []) {
        if (!known.includes(value)) problems.push(`${name}: ${matcher.label} is never "${value}"`);
      }
    }
  }
  return problems;
}

describe('the catalogue check on PromQL expressions', () => {
  it('accepts catalogue names, histogram series, target labels, Grafana variables and PromQL syntax', () => {
    expect(
      catalogueProblems(
        'histogram_quantile(0.95, sum by (le, origin) (rate(sipgw_call_setup_seconds_bucket{instance=~"$instance", le!="+Inf"}[$__rate_interval])))',
      ),
    ).toEqual([]);
    expect(
      catalogueProblems(
        'sum without (job) (rate(sipgw_calls_total{outcome=~"answered|busy", origin!="pstn"}[5m] offset 1h)) / on (instance) group_left sum(sipgw_legs_active) > bool 2e3 or up{job="sipgw"} == 0',
      ),
    ).toEqual([]);
    expect(catalogueProblems('sipgw_certificate_expiry_timestamp_seconds - time() < 14 * 86400')).toEqual([]);
  });

  it('rejects unknown names, foreign metrics, false histogram series, unknown labels and values, and unknown functions', () => {
    expect(catalogueProblems('rate(sipgw_calls_totl[5m])')).toEqual(['sipgw_calls_totl: not in the metrics catalogue']);
    expect(catalogueProblems('sipgw_legs_active / node_load1')).toEqual(['node_load1: not a sipgw metric']);
    expect(catalogueProblems('rate(sipgw_calls_total_count[5m])')).toEqual([
      'sipgw_calls_total_count: not in the metrics catalogue',
    ]);
    expect(catalogueProblems('sipgw_legs_active{media="None", codec="opus"}')).toEqual([
      'sipgw_legs_active: media is never "None"',
      'sipgw_legs_active: has no label codec',
    ]);
    expect(catalogueProblems('sipgw_calls_total{outcome=~"answered|ringing"}')).toEqual([
      'sipgw_calls_total: outcome is never "ringing"',
    ]);
    expect(catalogueProblems('rat(sipgw_calls_total[5m])')).toEqual(['rat: not a PromQL function']);
    expect(catalogueProblems('{__name__=~"sipgw_.*"}')).toEqual(['a selector without a metric name']);
  });
});

// --- The dashboard.

interface Target {
  expr?: string;
  datasource?: unknown;
  refId?: string;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: unknown;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  panels?: Panel[];
  fieldConfig?: { defaults?: { unit?: string } };
}

interface Variable {
  name: string;
  type: string;
  query?: unknown;
  datasource?: unknown;
}

interface Dashboard {
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
const allPanels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
const queryPanels = allPanels.filter((panel) => panel.type !== 'row');
const dashboardExprs = queryPanels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ where: `${panel.title} ${target.refId ?? ''}`, expr: target.expr ?? '' })),
);

/** Every value stored under a `datasource` key, anywhere in the document. */
function datasourceReferences(node: unknown, found: unknown[] = []): unknown[] {
  if (Array.isArray(node)) for (const item of node) datasourceReferences(item, found);
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'datasource') found.push(value);
      datasourceReferences(value, found);
    }
  }
  return found;
}

describe('the Grafana dashboard (deploy/grafana/sipgw.json)', () => {
  it('is a current dashboard with a Prometheus data-source variable and no data-source UID of its own', () => {
    expect(dashboard.title).toBe('sipgw');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    const references = datasourceReferences(dashboard);
    expect(references.length).toBeGreaterThan(queryPanels.length);
    for (const reference of references) expect(reference).toEqual(DATASOURCE);
    for (const panel of queryPanels) {
      expect(panel.datasource, panel.title).toEqual(DATASOURCE);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.datasource, panel.title).toEqual(DATASOURCE);
    }
  });

  it('has the six rows, in order', () => {
    expect(dashboard.panels.filter((panel) => panel.type === 'row').map((row) => row.title)).toEqual(ROW_TITLES);
  });

  it('queries only metrics, labels and label values from the catalogue', () => {
    expect(dashboardExprs.length).toBeGreaterThan(40);
    for (const { where, expr } of dashboardExprs) expect(catalogueProblems(expr), where).toEqual([]);
    const variableQueries = dashboard.templating.list.filter((variable) => variable.type === 'query');
    expect(variableQueries.length).toBeGreaterThan(0);
    for (const variable of variableQueries) {
      const labelValues = /^label_values\((.+),\s*(\w+)\)$/.exec(String(variable.query));
      expect(labelValues, variable.name).not.toBeNull();
      expect(catalogueProblems(labelValues?.[1] ?? ''), variable.name).toEqual([]);
      expect(variable.datasource, variable.name).toEqual(DATASOURCE);
    }
  });

  it('lays panels out on the 24-column grid without overlaps, each with a unit and a unique id', () => {
    const cells = new Map<string, string>();
    for (const panel of allPanels) {
      const { x, y, w, h } = panel.gridPos;
      expect(x + w, panel.title).toBeLessThanOrEqual(24);
      for (let row = y; row < y + h; row++) {
        for (let column = x; column < x + w; column++) {
          const cell = `${column},${row}`;
          expect(cells.get(cell), `${panel.title} overlaps`).toBeUndefined();
          cells.set(cell, panel.title);
        }
      }
    }
    for (const panel of queryPanels.filter((p) => p.type !== 'table')) {
      expect(panel.fieldConfig?.defaults?.unit, panel.title).toBeTruthy();
    }
    expect(new Set(allPanels.map((panel) => panel.id)).size).toBe(allPanels.length);
  });
});

// --- The alert rules.

interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface RuleTest {
  alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
}

const rules = (parseYaml(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: AlertRule[] }[] }).groups.flatMap(
  (group) => group.rules,
);
const ruleTests = (parseYaml(readFileSync(RULES_TEST_FILE, 'utf8')) as { tests: RuleTest[] }).tests.flatMap(
  (test) => test.alert_rule_test ?? [],
);

describe('the alert rules (deploy/prometheus/sipgw-rules.yml)', () => {
  it('has the alerts the operator needs, each with a severity, a summary and a description', () => {
    expect(rules.map((rule) => rule.alert)).toEqual([
      'SipgwUnencryptedLegInRequireMeeting',
      'SipgwTlsHandshakeFailures',
      'SipgwSrtpAuthenticationFailures',
      'SipgwPinLockoutBurst',
      'SipgwCertificateExpiringSoon',
      'SipgwPacketLoss',
      'SipgwDown',
      'SipgwNoTargets',
    ]);
    for (const rule of rules) {
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
    }
    expect(rules.find((rule) => rule.alert === 'SipgwUnencryptedLegInRequireMeeting')?.labels?.severity).toBe('critical');
  });

  it('queries only metrics, labels and label values from the catalogue (and up)', () => {
    for (const rule of rules) expect(catalogueProblems(rule.expr), rule.alert).toEqual([]);
  });

  it('has a promtool test where each alert fires and one where it stays quiet', () => {
    const alertNames = rules.map((rule) => rule.alert);
    for (const name of alertNames) {
      const cases = ruleTests.filter((test) => test.alertname === name);
      expect(cases.some((test) => (test.exp_alerts ?? []).length > 0), `${name} fires`).toBe(true);
      expect(cases.some((test) => (test.exp_alerts ?? []).length === 0), `${name} stays quiet`).toBe(true);
    }
    for (const test of ruleTests) expect(alertNames).toContain(test.alertname);
  });
});

// --- promtool: the rules load and pass their tests, and every dashboard query is valid PromQL.

const promtool = requirePeer('promtool');

function runPromtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** `promtool check rules` on a rules file with this text, written to a scratch directory. */
function checkRules(text: string): { status: number | null; output: string } {
  const scratch = mkdtempSync(join(tmpdir(), 'sipgw-deploy-'));
  try {
    const file = join(scratch, 'rules.yml');
    writeFileSync(file, text);
    return runPromtool('check', 'rules', file);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

describe.skipIf(promtool.skip)('promtool', () => {
  it('check rules accepts the rules file', () => {
    const { status, output } = runPromtool('check', 'rules', RULES_FILE);
    expect(status, output).toBe(0);
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('test rules passes every unit test', () => {
    const { status, output } = runPromtool('test', 'rules', RULES_TEST_FILE);
    expect(status, output).toBe(0);
    expect(output).toContain('SUCCESS');
  });

  it('parses every dashboard query once Grafana has filled in its variables', () => {
    const recordingRules = dashboardExprs.map(({ expr }, index) => ({
      record: `sipgw_dashboard_query_${index}`,
      expr: expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*'),
    }));
    const { status, output } = checkRules(stringifyYaml({ groups: [{ name: 'dashboard', rules: recordingRules }] }));
    expect(status, output).toBe(0);
    expect(output).toContain(`SUCCESS: ${recordingRules.length} rules found`);
  });
});
