import { BlockList, isIP } from 'node:net';
import type { Trunk } from './types.js';

/** Parses `address` or `address/prefix`; undefined when either part is malformed. */
function parseSource(source: string): { address: string; family: 'ipv4' | 'ipv6'; prefix: number } | undefined {
  const slash = source.indexOf('/');
  const address = slash === -1 ? source : source.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const bits = version === 4 ? 32 : 128;
  if (slash === -1) return { address, family, prefix: bits };
  const prefixText = source.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return undefined;
  return { address, family, prefix: Number(prefixText) };
}

export function isValidSource(source: string): boolean {
  return parseSource(source) !== undefined;
}

// One BlockList per trunk, built on first use for each config object.
const compiled = new WeakMap<readonly Trunk[], { trunk: Trunk; list: BlockList }[]>();

function compile(trunks: readonly Trunk[]): { trunk: Trunk; list: BlockList }[] {
  let lists = compiled.get(trunks);
  if (!lists) {
    lists = trunks.map((trunk) => {
      const list = new BlockList();
      for (const source of trunk.sources) {
        const parsed = parseSource(source);
        if (parsed) list.addSubnet(parsed.address, parsed.prefix, parsed.family);
      }
      return { trunk, list };
    });
    compiled.set(trunks, lists);
  }
  return lists;
}

/**
 * The trunks a request from `address` over `transport` may belong to, in configuration order:
 * those whose transport matches and whose sources hold the address (a trunk with no sources holds
 * every address, and proves itself with digest credentials instead). IPv4-mapped IPv6 addresses
 * (`::ffff:192.0.2.1`) match IPv4 blocks and vice versa.
 */
export function candidateTrunks(trunks: readonly Trunk[], address: string, transport: Trunk['transport']): Trunk[] {
  const bare = address.replace(/%.*$/, ''); // IPv6 zone index, e.g. fe80::1%eth0
  const version = isIP(bare);
  if (version === 0) return [];
  const family = version === 4 ? 'ipv4' : 'ipv6';
  return compile(trunks)
    .filter(({ trunk, list }) => trunk.transport === transport && (trunk.sources.length === 0 || list.check(bare, family)))
    .map(({ trunk }) => trunk);
}
