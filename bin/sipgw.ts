#!/usr/bin/env node
import { certsCli } from '../certs/index.js';
import { ConfigError, loadConfig } from '../gateway/config/index.js';
import { startGateway } from '../gateway/app.js';

const USAGE = `usage: sipgw [--config FILE]          run the gateway
       sipgw certs dev [--dir D] [--host H]...
       sipgw certs check --cert F --key K [--chain C]`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'certs') return certsCli(argv.slice(1));
  if (argv[0] === '--help' || argv[0] === '-h') {
    console.log(USAGE);
    return 0;
  }
  let config;
  try {
    config = loadConfig({ argv, env: process.env, cwd: process.cwd() });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`sipgw: configuration error: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const gateway = await startGateway(config);
  let draining = false;
  return new Promise<number>((resolve, reject) => {
    const exitOnceDone = (done: Promise<void>): void => void done.then(() => resolve(0), reject);
    // SIGTERM (an orchestrator's stop) drains; a second SIGTERM or a SIGINT (Ctrl-C) stops at once.
    process.on('SIGTERM', () => {
      exitOnceDone(draining ? gateway.stop() : gateway.drain());
      draining = true;
    });
    process.on('SIGINT', () => exitOnceDone(gateway.stop()));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`sipgw: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
