/**
 * Public entry of the package (`require('pm2-messaging-ha')`): what an ecosystem file and a
 * program embedding the cluster configuration need. Loading it starts nothing and never loads
 * PM2 or agent code.
 */
export { defineCluster, type CoordinatorApp, type EcosystemExport } from './config/define-cluster';
export { loadCluster, loadClusterOrThrow, resolveCluster, type LoadResult } from './config/load';
export { validateDefinition, type ValidationResult } from './config/validate';
export { ClusterConfigError, formatProblem, type Problem } from './model/problems';
export type {
  ClusterDefinition, ClusterSettings, GroupConfig, GroupDependency, GroupDependencyKind, ResourceConfig,
  ResolvedCluster, ResolvedGroup, ResolvedResource,
} from './model/cluster-types';
export { createSecretResolver, decryptSecret, type SecretResolver } from './secrets';
