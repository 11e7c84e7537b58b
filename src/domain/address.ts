import validator from "validator";

/**
 * A single e-mail address, optionally with a display name ("Ann <ann@example.com>").
 * Like Go's mail.ParseAddress, a domain without a dot (a@localhost) is accepted.
 */
export function isEmailAddress(value: string, options: { displayName?: boolean } = {}): boolean {
  return validator.isEmail(value, { require_tld: false, allow_display_name: options.displayName ?? false, allow_ip_domain: true });
}
