/** Attributes of the virtual IP type, declared once. */
import type { AttrDecl } from '../model/attributes';

export const IP_ATTRIBUTES: readonly AttrDecl[] = [
  { name: 'Address', kind: 'string', required: true, example: '192.0.2.25/24',
    doc: 'Virtual IPv4 address with its prefix length (ADDR/PREFIX).' },
  { name: 'Device', kind: 'string', required: true, example: 'eth0', doc: 'Network interface that carries the address.' },
  { name: 'ArpCheck', kind: 'bool', default: true,
    doc: 'Refuse to add the address when another host already answers for it (duplicate address detection).' },
  { name: 'ArpCheckMs', kind: 'int', default: 400, min: 50, max: 5000,
    doc: 'How long the duplicate address check waits for an answer, in milliseconds. A host on the same LAN answers within a few ms; every millisecond here is added to each failover.' },
  { name: 'Lifetime', kind: 'string', default: 'lease', example: 'forever',
    doc: "Kernel lifetime of the address: 'lease' (whole seconds left of this node's serve deadline, refreshed on every renewal, so the address vanishes by itself if the node dies; permanent when the group has no lease), 'forever', or a number of seconds." },
];
