/**
 * CheckReport.details: a probe's details reach the coordinator, with the certificate's remaining
 * lifetime always named `certExpirySeconds` (the tls probe and the protocol probes' TLS step
 * name it differently).
 */
import { describe, expect, it } from 'vitest';
import { foldProbes, toCheckReport } from '../../../plugin/resource-types/monitor-levels';

describe('check report details', () => {
  it('copies details and normalises the certificate expiry', () => {
    const r = toCheckReport({ check: 'imaps:993', result: { outcome: 'ok', phases: { total: 0.02 }, details: { certExpiresInSec: 3600, tlsProtocol: 'TLSv1.3' } } });
    expect(r.details).toEqual({ certExpirySeconds: 3600, tlsProtocol: 'TLSv1.3' });
    const t = toCheckReport({ check: 'ldaps:636', result: { outcome: 'ok', phases: {}, details: { certExpirySeconds: -5, certSubject: 'mail' } } });
    expect(t.details).toEqual({ certExpirySeconds: -5, certSubject: 'mail' });
  });

  it('leaves details out when the probe had none; foldProbes keeps them', () => {
    expect(toCheckReport({ check: 'imap:143', result: { outcome: 'ok', phases: {} } })).not.toHaveProperty('details');
    const folded = foldProbes([{ check: 'pops:995', result: { outcome: 'ok', phases: {}, details: { certExpiresInSec: 10 } } }]);
    expect(folded.checks![0]!.details).toEqual({ certExpirySeconds: 10 });
  });
});
