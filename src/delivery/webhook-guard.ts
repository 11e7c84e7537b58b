import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { invalidArgument } from "../domain/errors.js";

/**
 * The webhook deny-list: endpoints may not resolve into private, loopback or link-local ranges
 * (configurable). Checked when a provider is saved and again on every connection.
 */
export class WebhookGuard {
  private readonly blocked = new BlockList();
  readonly empty: boolean;

  constructor(cidrs: string[]) {
    for (const cidr of cidrs) {
      const [address, bits] = cidr.split("/");
      const family = isIP(address ?? "");
      if (!family) throw new Error(`webhook deny-list entry "${cidr}" is not a CIDR range`);
      const type = family === 6 ? "ipv6" : "ipv4";
      this.blocked.addSubnet(address!, bits === undefined ? (family === 6 ? 128 : 32) : Number(bits), type);
    }
    this.empty = cidrs.length === 0;
  }

  isBlockedAddress(address: string): boolean {
    const family = isIP(address);
    if (!family) return false;
    return this.blocked.check(address, family === 6 ? "ipv6" : "ipv4");
  }

  /** The first of a host's addresses that is on the deny-list, if any. */
  firstBlocked(addresses: string[]): string | undefined {
    return addresses.find((a) => this.isBlockedAddress(a));
  }

  /** Resolves the endpoint's host and rejects it when any address is on the deny-list. */
  async checkEndpoint(endpoint: string, errorId: string): Promise<void> {
    if (this.empty) return;
    const host = hostOf(new URL(endpoint));
    if (host === "localhost") throw invalidArgument(errorId, `endpoint host "${host}" is on the webhook deny-list`);
    let addresses: string[];
    try {
      addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
    } catch {
      throw invalidArgument(errorId, `endpoint host "${host}" cannot be resolved`);
    }
    const blocked = this.firstBlocked(addresses);
    if (blocked) throw invalidArgument(errorId, `endpoint host "${host}" resolves to ${blocked}, which is on the webhook deny-list`);
  }
}

/** A URL's host as a resolver or the deny-list takes it: an IPv6 literal without its brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "");
}
