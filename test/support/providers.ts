import { randomBytes } from "node:crypto";
import type { Provider, SmtpAuth, SmtpSettings } from "../../src/domain/provider.js";
import { Keyring } from "../../src/secrets/keyring.js";
import type { OutgoingMessage } from "../../src/delivery/types.js";

/** A keyring with a fresh random key, as the service would hold. */
export function testKeyring(): Keyring {
  return new Keyring([randomBytes(32)], { kind: "env" });
}

let sequence = 100;

/** An SMTP provider as the store would hand it to the worker. */
export function smtpProvider(smtp: Partial<SmtpSettings> & { host: string }, overrides: Partial<Provider> = {}): Provider {
  const settings: SmtpSettings = {
    senderAddress: "noreply@example.com",
    senderName: "Example",
    replyToAddress: "",
    user: "",
    tls: "none",
    verifyCertificates: true,
    auth: { kind: "none" } as SmtpAuth,
    ...smtp,
  };
  return {
    instanceId: "instance-1",
    id: "provider-1",
    description: "test relay",
    state: "active",
    config: { kind: "smtp", smtp: settings },
    createdAt: new Date(),
    changedAt: new Date(),
    sequence: ++sequence,
    ...overrides,
  };
}

let messages = 0;

export function outgoingMessage(overrides: Partial<OutgoingMessage> = {}): OutgoingMessage {
  const n = ++messages;
  return {
    id: `msg-${n}`,
    headerMessageId: `<msg-${n}.${Date.now()}@mailroom.test>`,
    to: ["ann@example.org"],
    cc: [],
    bcc: [],
    subject: "Your code",
    text: "Your code is 123456",
    acceptedAt: new Date("2024-11-04T10:46:44.000Z"),
    ...overrides,
  };
}
