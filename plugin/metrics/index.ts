/**
 * Observability: the coordinator's Prometheus metrics and exporter, @pm2/io adapters, and the
 * generated Grafana dashboards and alert rules. See definitions.ts for the list of metrics.
 */
export { createMetrics, type Metrics, type MetricsOptions } from './metrics';
export { startExporter, DEFAULT_LISTEN, type Exporter, type ExporterOptions } from './exporter';
export { publishAgentMetrics, publishCoordinatorMetrics, type AgentMetricsView, type Pm2IoLike } from './pm2-io';
export * from './snapshot';
