/** The one IPv4 parser: dotted quads, ADDR/PREFIX, and the domain of a host name. */
import { describe, expect, it } from 'vitest';
import { domainOf, isIPv4, parseIPv4Cidr } from '../../../plugin/core/net';

describe('isIPv4', () => {
  it.each([['192.0.2.25', true], ['0.0.0.0', true], ['255.255.255.255', true], ['256.1.1.1', false], ['01.2.3.4', false], ['1.2.3', false], ['a.b.c.d', false], ['1.2.3.4.', false]])(
    '%s → %s', (value, ok) => expect(isIPv4(value)).toBe(ok));
});

describe('parseIPv4Cidr', () => {
  it('reads ADDR/PREFIX', () => {
    expect(parseIPv4Cidr('192.0.2.25/24')).toEqual({ address: '192.0.2.25', prefix: 24 });
    expect(parseIPv4Cidr('10.0.0.1/32')).toEqual({ address: '10.0.0.1', prefix: 32 });
    expect(parseIPv4Cidr('10.0.0.0/0')).toEqual({ address: '10.0.0.0', prefix: 0 });
  });
  it.each(['192.0.2.25', '192.0.2.25/33', '192.0.2.256/24', '192.0.2.25/', '192.0.2.25/024', 'mail/24'])('refuses %s', (value) => {
    expect(parseIPv4Cidr(value)).toBeUndefined();
  });
});

describe('domainOf', () => {
  it.each([
    ['mail.example.com', 'example.com'],
    ['mx1.mail.example.com.', 'mail.example.com'],
    ['mail', undefined],
    ['192.0.2.25', undefined],
    ['::1', undefined],
  ])('%s → %s', (host, domain) => expect(domainOf(host)).toBe(domain));
});
