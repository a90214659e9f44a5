/**
 * Second-level monitoring shared by the agents: a plan of probes (registry name, port, options)
 * run in parallel under one deadline that ends inside the monitor's budget, then folded into
 * one level result with the resource's probe policy. The same plans, aimed at the group's VIP,
 * are the client probes other nodes run (`clientProbes`, cluster/remote-probe.ts): one plan
 * builder per type, one runner (runProbesEach) for both.
 *
 * Guarantees: every probe of a resource starts at once, so one hung service cannot hide
 * another; no probe deadline outlives the monitor's budget (what is left of MonitorTimeout when
 * the deep level starts); a secret is decrypted only here, at the moment of use, and a secret
 * that cannot be decrypted is reported as a configuration problem, never thrown and never shown.
 */
import { deadlineIn } from '../core/deadline';
import { isIPv4 } from '../core/net';
import { boolAttr, textAttr } from '../model/attributes';
import { getProbe, type ProbePolicy, type ProtocolOptions } from '../../probes/registry';
import { foldProbes, type LevelResult, type NamedProbe } from './monitor-levels';
import type { AgentContext, ClientProbes } from './contract';

export interface PlannedProbe {
  /** What the report calls it, e.g. 'imap:143'. */
  check: string;
  /** Registry name (probes/registry.ts), e.g. 'imap', 'mmp-pops', 'tls'. */
  probe: string;
  host: string;
  port: number;
  /** Options besides the deadline (user, password, recipient, servername, …). */
  options?: Omit<ProtocolOptions, 'timeoutMs'>;
}

/** Kept back from the budget so that folding and reporting still fit in MonitorTimeout. */
const FOLD_MARGIN_MS = 50;

/** The deadline a probe gets: what is left of the budget, capped (e.g. by ProbeTimeout). */
export function probeDeadlineMs(remainingMs: number, capMs = Number.POSITIVE_INFINITY): number {
  return Math.max(1, Math.min(capMs, remainingMs - FOLD_MARGIN_MS));
}

export interface RunPlanOptions {
  /** Milliseconds the deep level may take (the rest of MonitorTimeout). */
  budgetMs: number;
  signal: AbortSignal;
  policy?: ProbePolicy;
  /** Upper bound of one probe's deadline (NetscapeMsg's ProbeTimeout). */
  capMs?: number;
  /** The resource's attributes: ProbeCAFile and ProbeSSLVerify apply to every probe of the plan. */
  attrs?: Readonly<Record<string, unknown>>;
}

/** The TLS trust of a resource's deep checks (ProbeCAFile, ProbeSSLVerify). */
export function probeTrust(attrs: Readonly<Record<string, unknown>> | undefined): Pick<ProtocolOptions, 'caFile' | 'verifyCertificate'> {
  if (!attrs) return {};
  const caFile = textAttr(attrs, 'ProbeCAFile');
  return { ...(caFile ? { caFile } : {}), ...(boolAttr(attrs, 'ProbeSSLVerify') ? {} : { verifyCertificate: false }) };
}

/**
 * Runs every planned probe in parallel under one deadline and gives each probe's own result, in
 * plan order (the remote probes count each service on its own).
 */
export async function runProbesEach(plan: PlannedProbe[], opts: RunPlanOptions): Promise<NamedProbe[]> {
  const timeoutMs = probeDeadlineMs(opts.budgetMs, opts.capMs);
  // Services with no deep check (snmp, ens) have no probe and are left out.
  const runnable = plan.flatMap((p) => {
    const probe = getProbe(p.probe);
    return probe ? [{ ...p, run: probe }] : [];
  });
  return Promise.all(runnable.map(async (p): Promise<NamedProbe> => {
    const probe = p.run;
    const result = await probe({ host: p.host, port: p.port }, { ...probeTrust(opts.attrs), ...p.options, timeoutMs }, opts.signal);
    return { check: p.check, result };
  }));
}

/** Runs every planned probe in parallel and folds the results. */
export async function runProbePlan(plan: PlannedProbe[], opts: RunPlanOptions): Promise<LevelResult> {
  return foldProbes(await runProbesEach(plan, opts), opts.policy);
}

/**
 * The plan aimed at `address` (a VIP) instead of the host it was built for. A host that is a
 * name stays the TLS name (SNI, certificate check) and the HTTP Host header, as for a client
 * whose name resolves to that address; everything else (logins, the SMTP recipient's domain) is
 * unchanged.
 */
export function aimAt(plan: PlannedProbe[], address: string): PlannedProbe[] {
  return plan.map((p) => {
    if (p.host === address) return p;
    const name = isIPv4(p.host) ? {} : { servername: p.options?.servername ?? p.host };
    return { ...p, host: address, options: { ...p.options, ...name } };
  });
}

export type SecretRead = { ok: true; value: string | undefined } | { ok: false; problem: LevelResult };

/**
 * Decrypts a secret attribute now, at the moment of use. A key file that is missing or a value
 * that does not decrypt is the configuration's fault: OFFLINE, recovery 'configuration' (see
 * foldProbes for why OFFLINE rather than UNKNOWN).
 */
export async function readSecret(ctx: AgentContext, attribute: string): Promise<SecretRead> {
  try {
    return { ok: true, value: await ctx.secret(attribute) };
  } catch (err) {
    // SecretError messages name the key file and the cause, never the secret.
    const why = err instanceof Error ? err.message : String(err);
    return { ok: false, problem: { state: 'OFFLINE', recovery: 'configuration', reason: `cannot decrypt ${attribute} for the deep check and the remote probes: ${why}` } };
  }
}

/** The account a deep check logs in with; `password` is undefined when its attribute is unset. */
export interface TestAccount { user: string; password: string | undefined }

export type AccountRead = { ok: true; account: TestAccount | undefined } | { ok: false; problem: LevelResult };

/**
 * The test account — `user` (the type's test user attribute) and the secret `passwordAttr`
 * decrypted now — or none when `user` is unset. A secret that cannot be decrypted is the
 * problem (a configuration problem, naming the attribute, never the value).
 */
export async function readTestAccount(ctx: AgentContext, user: string | undefined, passwordAttr: string): Promise<AccountRead> {
  if (user === undefined) return { ok: true, account: undefined };
  const secret = await readSecret(ctx, passwordAttr);
  return secret.ok ? { ok: true, account: { user, password: secret.value } } : secret;
}

/**
 * Runs a deep check with the test account, or without one when `user` is unset. A secret that
 * cannot be decrypted is the result (a configuration problem) and the check does not run.
 */
export async function withTestAccount(ctx: AgentContext, user: string | undefined, passwordAttr: string,
  check: (account: TestAccount | undefined) => Promise<LevelResult>): Promise<LevelResult> {
  const read = await readTestAccount(ctx, user, passwordAttr);
  return read.ok ? check(read.account) : read.problem;
}

/** A type's probe plan, or why there is none (a secret that does not decrypt). */
export type PlanRead = { ok: true; plan: PlannedProbe[] } | { ok: false; problem: LevelResult };

/** Builds a plan with the test account read now (see readTestAccount). */
export async function planWithTestAccount(ctx: AgentContext, user: string | undefined, passwordAttr: string,
  build: (account: TestAccount | undefined) => PlannedProbe[]): Promise<PlanRead> {
  const read = await readTestAccount(ctx, user, passwordAttr);
  return read.ok ? { ok: true, plan: build(read.account) } : read;
}

/** The deep check of a plan read: its probes run and folded, or the problem that stopped it. */
export async function runPlanRead(read: PlanRead, opts: RunPlanOptions): Promise<LevelResult> {
  return read.ok ? runProbePlan(read.plan, opts) : read.problem;
}

/** What `clientProbes` returns for a plan read: the plan aimed at `address` with how its failures count, or the problem's sentence. */
export function clientProbesOf(read: PlanRead, address: string, counting: { policy?: ProbePolicy; capMs?: number } = {}): ClientProbes {
  if (!read.ok) return { problem: read.problem.reason };
  return { plan: aimAt(read.plan, address), ...counting };
}

/** Starts the deep level's own clock: the budget left after slow steps (decryption). */
export function budgetClock(budgetMs: number): () => number {
  const d = deadlineIn(budgetMs);
  return () => d.remaining();
}
