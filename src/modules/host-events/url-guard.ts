import ipaddr from 'ipaddr.js';
import { type LookupAddress, lookup as dnsLookup } from 'node:dns';
import { lookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';

/**
 * SSRF guard for outgoing webhooks. Classification is ipaddr.js's (a well-kept library, the one
 * Express and Fastify use for proxy addresses): only its `unicast` range counts as public; loopback,
 * private, link-local, unique-local, carrier-grade NAT, multicast, reserved and the rest are refused.
 * IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) are judged as the IPv4 address they carry; the
 * deprecated IPv4-compatible ones (`::127.0.0.1`, `::/96`), which ipaddr.js counts as unicast, are
 * refused outright.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) parsed = v6.toIPv4Address();
    else if (v6.parts.slice(0, 6).every((part) => part === 0)) return false;
  }
  return parsed.range() === 'unicast';
}

export class UnsafeWebhookUrl extends Error {}

/** Only absolute http(s) URLs; the reason when not. */
export function urlProblem(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'url must be an absolute http or https URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `url must use http or https (got ${url.protocol.replace(/:$/, '')})`;
  if (!url.hostname) return 'url must name a host';
  // It would be stored and listed in clear (the signing secret is sealed): receivers check the signature instead.
  if (url.username || url.password)
    return 'url must not carry a user name or password; receivers authenticate calsync by the webhook signature';
  return null;
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * Resolves the URL's host and refuses it when any address it resolves to is not public (an
 * attacker's name may resolve to a public and a private address at once).
 */
export async function assertPublicUrl(raw: string): Promise<void> {
  const host = hostOf(new URL(raw));
  let addresses: string[];
  if (ipaddr.isValid(host)) {
    addresses = [host];
  } else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      throw notPublic(host);
    }
  }
  if (addresses.some((a) => !isPublicAddress(a))) throw notPublic(host);
}

/**
 * One answer whether the name does not resolve or resolves to a non-public address, without the
 * address: either detail would map an internal network's names for a caller.
 */
function notPublic(host: string): UnsafeWebhookUrl {
  return new UnsafeWebhookUrl(
    `url host ${host} does not resolve to a public address (loopback, private, link-local and other non-public ` +
      'addresses are refused); webhook endpoints must be public (WEBHOOK_ALLOW_PRIVATE_URLS is off)',
  );
}

/**
 * A `lookup` for `http.request` that refuses non-public addresses at connect time, so a name that
 * resolved to a public address when the endpoint was saved cannot be pointed at an internal one
 * later (DNS rebinding): the address checked is the address connected to.
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const list = addresses as unknown as LookupAddress[];
    const refused = list.find((a) => !isPublicAddress(a.address));
    if (refused) {
      return callback(new UnsafeWebhookUrl(`${hostname} resolves to an address that is not public`), '', 0);
    }
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    return callback(null, list[0].address, list[0].family);
  });
};

/** For a delivery: a literal IP in the URL never goes through `lookup`, so it is checked here. */
export function literalAddressProblem(raw: string): string | null {
  const host = hostOf(new URL(raw));
  if (ipaddr.isValid(host) && !isPublicAddress(host)) return `${host} is not a public address`;
  return null;
}
