/**
 * The agents' light replacement of @pm2/io metrics: PM2's axm:monitor message shape, values
 * read per round, sent only on change (or on refresh), undefined and throwing metrics hidden.
 */
import { describe, expect, it } from 'vitest';
import { createAxmPublisher, type AxmValue } from '../../../plugin/pm2/axm-metrics';
import { publishAgentMetrics } from '../../../plugin/metrics/pm2-io';

function harness(refreshMs = 60_000) {
  const sent: Array<Record<string, AxmValue>> = [];
  const pub = createAxmPublisher({ intervalMs: 3_600_000, refreshMs, send: (m) => { expect(m.type).toBe('axm:monitor'); sent.push(m.data); } });
  return { pub, sent };
}

describe('axm publisher', () => {
  it('sends PM2 axm:monitor data with value and unit, only when something changed', () => {
    const { pub, sent } = harness();
    let n = 1;
    pub.metric({ name: 'restarts', value: () => n });
    pub.metric({ name: 'probe total', unit: 'ms', value: () => 12.5 });
    pub.flush();
    expect(sent).toEqual([{ restarts: { value: 1, type: 'metric', historic: true }, 'probe total': { value: 12.5, unit: 'ms', type: 'metric', historic: true } }]);
    pub.flush();
    expect(sent).toHaveLength(1);
    n = 2;
    pub.flush();
    expect(sent).toHaveLength(2);
    expect(sent[1]!.restarts!.value).toBe(2);
    pub.flush(true);
    expect(sent).toHaveLength(3);
    pub.stop();
  });

  it('hides undefined, NaN and throwing metrics; resends unchanged values after refreshMs', async () => {
    const { pub, sent } = harness(5);
    pub.metric({ name: 'a', value: () => undefined as unknown as number });
    pub.metric({ name: 'b', value: () => NaN });
    pub.metric({ name: 'c', value: () => { throw new Error('view broken'); } });
    pub.metric({ name: 'd', value: () => 'ONLINE' as unknown as number });
    pub.flush();
    expect(sent).toEqual([{ d: { value: 'ONLINE', type: 'metric', historic: true } }]);
    await new Promise((r) => setTimeout(r, 10));
    pub.flush();
    expect(sent).toHaveLength(2);
    pub.stop();
  });

  it('carries the agent view of publishAgentMetrics', () => {
    const { pub, sent } = harness();
    publishAgentMetrics(pub, () => ({ state: 'ONLINE', restarts: 2, lastProbe: { service: 'imap', outcome: 'ok', phases: { login: 0.0123, total: 0.02 } } }));
    pub.flush();
    const d = sent[0]!;
    expect(d.state!.value).toBe('ONLINE');
    expect(d['restarts in place']!.value).toBe(2);
    expect(d['last probe']!.value).toBe('imap ok');
    expect(d['probe login']).toMatchObject({ value: 12.3, unit: 'ms' });
    expect(d['probe tls']).toBeUndefined();
    pub.stop();
  });

  it('never sends (and never exits) without a connected IPC channel', () => {
    // The default sender: in a vitest worker fork the channel may exist; force a disconnected view.
    const send = process.send;
    const connected = Object.getOwnPropertyDescriptor(process, 'connected');
    Object.defineProperty(process, 'connected', { value: false, configurable: true });
    let calls = 0;
    process.send = (() => { calls += 1; return true; }) as typeof process.send;
    try {
      const pub = createAxmPublisher({ intervalMs: 3_600_000 });
      pub.metric({ name: 'x', value: () => 1 });
      pub.flush(true);
      pub.stop();
      expect(calls).toBe(0);
    } finally {
      process.send = send;
      if (connected) Object.defineProperty(process, 'connected', connected);
      else delete (process as { connected?: boolean }).connected;
    }
  });
});
