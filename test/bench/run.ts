/**
 * Runs the benchmarks in order, each in its own section: `npm run bench` for all of them,
 * `npm run bench -- srtp echo-calls` for the named ones (still in the order below). Benchmarks print
 * figures, they do not pass or fail: the exit code is non-zero only when a benchmark threw
 * (1), or when a name is unknown (2, before anything runs).
 */
interface BenchModule {
  run(): Promise<void>;
}

const BENCHES: readonly (readonly [string, () => Promise<BenchModule>])[] = [
  ['sip-parse', () => import('./sip-parse.js')],
  ['srtp', () => import('./srtp.js')],
  ['mixer', () => import('./mixer.js')],
  ['sfu', () => import('./sfu.js')],
  ['browser-load', () => import('./browser-load.js')],
  ['echo-calls', () => import('./echo-calls.js')],
  ['metrics', () => import('./metrics.js')],
];

function heading(text: string): void {
  console.log(`\n${'='.repeat(100)}\n== ${text}\n${'='.repeat(100)}`);
}

async function main(names: readonly string[]): Promise<number> {
  const known = BENCHES.map(([name]) => name);
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    console.error(`unknown bench ${unknown.join(', ')}; known: ${known.join(', ')}`);
    return 2;
  }
  const selected = BENCHES.filter(([name]) => names.length === 0 || names.includes(name));
  console.log(`node ${process.version}, ${selected.length} bench(es): ${selected.map(([name]) => name).join(', ')}`);
  const crashed: string[] = [];
  for (const [name, load] of selected) {
    heading(name);
    const started = performance.now();
    try {
      await (await load()).run();
    } catch (error) {
      crashed.push(name);
      console.error(`bench ${name} crashed:`, error);
    }
    console.log(`-- ${name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  heading(crashed.length === 0 ? 'done' : `done; crashed: ${crashed.join(', ')}`);
  return crashed.length === 0 ? 0 : 1;
}

// Exit explicitly: an idle keep-alive socket of fetch() must not hold the process open.
process.exit(await main(process.argv.slice(2)));
