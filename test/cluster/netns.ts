/**
 * Network namespaces for cluster tests: a bridge namespace, node namespaces and a client
 * namespace joined by veth pairs, with 10.213.<net>.x/24 addresses that never leave them.
 * Every namespace is named mh-<tag>-…; destroy() deletes them all (also after a failure).
 */
import { execFileSync } from 'node:child_process';

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export class Lan {
  readonly names: string[] = [];
  readonly bridgeNs: string;

  constructor(readonly tag: string, readonly net: number) {
    this.bridgeNs = `mh-${tag}-br`;
    this.add(this.bridgeNs);
    ip('-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.bridgeNs, 'link', 'set', 'br0', 'up');
  }

  private add(name: string): void {
    try { ip('netns', 'del', name); } catch { /* not there */ }
    ip('netns', 'add', name);
    this.names.push(name);
    ip('-n', name, 'link', 'set', 'lo', 'up');
  }

  /** A namespace `mh-<tag>-<name>` with eth0 on the bridge and 10.213.<net>.<host>/24. */
  host(name: string, host: number): string {
    const ns = `mh-${this.tag}-${name}`;
    this.add(ns);
    const side = `v${this.tag}${name}`.slice(0, 15);
    ip('-n', this.bridgeNs, 'link', 'add', side, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('-n', this.bridgeNs, 'link', 'set', side, 'master', 'br0');
    ip('-n', this.bridgeNs, 'link', 'set', side, 'up');
    ip('-n', ns, 'addr', 'add', `10.213.${this.net}.${host}/24`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    return ns;
  }

  destroy(): void {
    for (const n of this.names.reverse()) { try { ip('netns', 'del', n); } catch { /* gone */ } }
    this.names.length = 0;
  }
}

/** IPv4 addresses of a device inside a namespace, with their remaining valid lifetime. */
export function addrs(ns: string, dev = 'eth0'): Array<{ local: string; prefixlen: number; valid: number }> {
  const j = JSON.parse(ip('-n', ns, '-j', 'addr', 'show', 'dev', dev)) as Array<{ addr_info: Array<{ family: string; local: string; prefixlen: number; valid_life_time: number }> }>;
  return j.flatMap((l) => l.addr_info.filter((a) => a.family === 'inet').map((a) => ({ local: a.local, prefixlen: a.prefixlen, valid: a.valid_life_time })));
}
