/**
 * Placeholders for the IP and Mount types, whose agents come with the coordinator: every
 * action refuses with recovery 'configuration', monitor says UNKNOWN.
 */
import type { ResourceType } from './types';

export function coordinatorOwned(name: 'IP' | 'Mount'): ResourceType {
  const reason = `the ${name} agent comes with the coordinator`;
  const refuse = async () => ({ ok: false, recovery: 'configuration' as const, reason });
  return {
    name,
    online: refuse,
    offline: refuse,
    clean: refuse,
    monitor: async () => ({ state: 'UNKNOWN', reason }),
  };
}
