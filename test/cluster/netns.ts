/** The namespace helpers live in test/fixtures/cluster (compiled, shared with the demo and benchmarks). */
export { addrs, Lan, removeNamespaces } from '../fixtures/cluster/netns';
