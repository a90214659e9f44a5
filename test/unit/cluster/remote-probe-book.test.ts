/**
 * RemoteProbeBook: cycles and consecutive counted failures per service, reset by a success, by a
 * failure that does not count (timeout-only: a refusal), and by a new holder, epoch or VIP;
 * forget; views() is a copy in group order.
 */
import { describe, expect, it } from 'vitest';
import { RemoteProbeBook, type ServiceOutcome } from '../../../plugin/cluster/remote-probe';

const ok = (check: string): ServiceOutcome => ({ service: check.split(':')[0]!, check, ok: true, timeout: false, counts: false, reason: 'ok', phases: { total: 0.01 } });
const refused = (check: string, counts: boolean): ServiceOutcome => ({ service: check.split(':')[0]!, check, ok: false, timeout: false, counts, reason: 'connection refused' });
const timedOut = (check: string): ServiceOutcome => ({ service: check.split(':')[0]!, check, ok: false, timeout: true, counts: true, reason: 'no answer within 2000 ms' });
const AT = '2024-01-01T00:00:00.000Z';

function failures(book: RemoteProbeBook, group: string): Record<string, number> {
  return Object.fromEntries((book.get(group)?.services ?? []).map((s) => [s.check, s.failures]));
}

describe('RemoteProbeBook', () => {
  it('counts consecutive counted failures per service; a success resets only its own service', () => {
    const b = new RemoteProbeBook();
    b.record('mail', 'mx1', 4, '10.0.0.50', [refused('imap:143', true), ok('smtp:25')], AT);
    b.record('mail', 'mx1', 4, '10.0.0.50', [refused('imap:143', true), timedOut('smtp:25')], AT);
    expect(failures(b, 'mail')).toEqual({ 'imap:143': 2, 'smtp:25': 1 });
    const v = b.record('mail', 'mx1', 4, '10.0.0.50', [ok('imap:143'), timedOut('smtp:25')], AT);
    expect(failures(b, 'mail')).toEqual({ 'imap:143': 0, 'smtp:25': 2 });
    expect(v).toMatchObject({ group: 'mail', holder: 'mx1', epoch: 4, vip: '10.0.0.50', cycles: 3, at: AT });
    expect(v.services.find((s) => s.check === 'smtp:25')).toMatchObject({ service: 'smtp', ok: false, timeout: true, reason: 'no answer within 2000 ms' });
  });

  it('timeout-only: a refusal does not count and breaks the run; timeouts count', () => {
    const b = new RemoteProbeBook();
    b.record('ns', 'mx1', 1, '10.0.0.60', [timedOut('imap:143')], AT);
    b.record('ns', 'mx1', 1, '10.0.0.60', [refused('imap:143', false)], AT);
    expect(failures(b, 'ns')).toEqual({ 'imap:143': 0 });
    expect(b.get('ns')!.services[0]).toMatchObject({ ok: false, timeout: false });
    b.record('ns', 'mx1', 1, '10.0.0.60', [timedOut('imap:143')], AT);
    b.record('ns', 'mx1', 1, '10.0.0.60', [timedOut('imap:143')], AT);
    expect(failures(b, 'ns')).toEqual({ 'imap:143': 2 });
  });

  it.each([
    ['a new epoch', 'mx1', 5, '10.0.0.50'],
    ['a new holder', 'mx2', 4, '10.0.0.50'],
    ['another VIP', 'mx1', 4, '10.0.0.51'],
  ])('%s starts from zero', (_what, holder, epoch, vip) => {
    const b = new RemoteProbeBook();
    b.record('mail', 'mx1', 4, '10.0.0.50', [timedOut('imap:143')], AT);
    b.record('mail', 'mx1', 4, '10.0.0.50', [timedOut('imap:143')], AT);
    const v = b.record('mail', holder, epoch, vip, [timedOut('imap:143')], AT);
    expect(v).toMatchObject({ holder, epoch, vip, cycles: 1 });
    expect(failures(b, 'mail')).toEqual({ 'imap:143': 1 });
  });

  it('a service no longer probed leaves the view; one that comes back starts from zero', () => {
    const b = new RemoteProbeBook();
    b.record('mail', 'mx1', 4, 'v', [timedOut('imap:143'), timedOut('pop:110')], AT);
    b.record('mail', 'mx1', 4, 'v', [timedOut('imap:143')], AT);
    expect(failures(b, 'mail')).toEqual({ 'imap:143': 2 });
    b.record('mail', 'mx1', 4, 'v', [timedOut('imap:143'), timedOut('pop:110')], AT);
    expect(failures(b, 'mail')).toEqual({ 'imap:143': 3, 'pop:110': 1 });
  });

  it('forget, and views() in group order as copies', () => {
    const b = new RemoteProbeBook();
    b.record('mail', 'mx1', 4, 'v1', [ok('imap:143')], AT);
    b.record('dir', 'mx2', 2, 'v2', [ok('ldap:389')], AT);
    const views = b.views();
    expect(views.map((v) => v.group)).toEqual(['dir', 'mail']);
    views[0]!.services[0]!.failures = 99;
    views[0]!.services[0]!.phases!.total = 99;
    expect(b.get('dir')!.services[0]).toMatchObject({ failures: 0, phases: { total: 0.01 } });
    b.forget('mail');
    expect(b.get('mail')).toBeUndefined();
    expect(b.views().map((v) => v.group)).toEqual(['dir']);
    const again = b.record('mail', 'mx1', 4, 'v1', [timedOut('imap:143')], AT);
    expect(again.cycles).toBe(1);
  });
});
