import type { Principal } from "../auth/tokens.js";
import { isEmailAddress } from "../domain/address.js";
import { DomainError, invalidArgument, notFound } from "../domain/errors.js";
import { resolveSmtpSettings, type SmtpInput, type SmtpRuleIds, type SmtpSettings } from "../domain/provider.js";
import type { ProviderService } from "../service/provider-service.js";
import type { DiagnosticReport, DiagnosticStepName, SmtpDiagnostic } from "./smtp-diagnostics.js";

const testRuleIds: SmtpRuleIds = { sender: "SMTP-t3stSn", host: "SMTP-t3stHo", field: "SMTP-t3stFd" };

/** ZITADEL's error ids per failing step, so clients matching on them keep working. */
const stepErrorIds: Record<DiagnosticStepName, string> = {
  DNS: "EMAIL-dn5xx",
  connect: "EMAIL-skwos",
  TLS: "EMAIL-sl39s",
  EHLO: "EMAIL-skwi4",
  STARTTLS: "EMAIL-guvsQ",
  AUTH: "EMAIL-s9kfs",
  "MAIL FROM": "EMAIL-s3is3",
  "RCPT TO": "EMAIL-s4is4",
  DATA: "EMAIL-d4t4x",
  QUIT: "EMAIL-d4t4x",
};

/** The error a failed test answers with: INTERNAL, naming the step, the reply and a hint. */
export function testFailure(report: DiagnosticReport): DomainError {
  const step = report.failed!;
  const reply = step.code ? `the server answered ${step.reply}` : step.reply;
  return new DomainError("internal", stepErrorIds[step.name], `SMTP test failed at ${step.name}: ${reply}. Hint: ${step.hint}`);
}

/**
 * The four SMTP Test RPCs over SmtpDiagnostic. Unsaved settings go through the same rules as an
 * add; with an id, the stored provider supplies what the request leaves out (its secret above all).
 */
export class SmtpProviderTester {
  constructor(
    private readonly providers: ProviderService,
    private readonly diagnostic: SmtpDiagnostic,
  ) {}

  /** Tests unsaved settings; with `storedId`, that provider's stored secret fills in an empty one. */
  async testSettings(principal: Principal, input: SmtpInput, receiver: string, storedId: string): Promise<void> {
    checkReceiver(receiver, "SMTP-p9uy");
    let stored: SmtpSettings | undefined;
    if (storedId) {
      stored = await this.storedSmtp(principal, storedId, "SMTP-p9cc");
    }
    const settings = resolveSmtpSettings(input, this.providers.secrets, testRuleIds, stored);
    if (settings.auth.kind === "plain" && !settings.auth.password) {
      if (stored) throw notFound("SMTP-p9cc", "SMTP configuration not found: no password is stored for it");
      throw invalidArgument("SMTP-p9kj", "Password for test not found");
    }
    if (settings.auth.kind === "xoauth2" && !settings.auth.clientSecret) {
      if (stored) throw notFound("SMTP-p9c2", "SMTP configuration not found: no client secret is stored for it");
      throw invalidArgument("SMTP-9OP96s", "Client secret for test not found");
    }
    await this.run(settings, receiver);
  }

  async testStored(principal: Principal, id: string, receiver: string): Promise<void> {
    checkReceiver(receiver, "SMTP-99yth");
    const settings = await this.storedSmtp(principal, id, "SMTP-99klw");
    if (settings.auth.kind === "plain" && !settings.auth.password) {
      throw invalidArgument("SMTP-99pw0", "no password is stored for this SMTP configuration; set one before testing it");
    }
    await this.run(settings, receiver);
  }

  /** Tests a stored provider and returns every step, failed or not (the native TestProvider). */
  async reportStored(principal: Principal, id: string, receiver: string): Promise<DiagnosticReport> {
    checkReceiver(receiver, "SMTP-99yth");
    const settings = await this.storedSmtp(principal, id, "SMTP-99klw");
    return this.diagnostic.run(settings, receiver);
  }

  private async run(settings: SmtpSettings, receiver: string): Promise<void> {
    const report = await this.diagnostic.run(settings, receiver);
    if (!report.ok) throw testFailure(report);
  }

  private async storedSmtp(principal: Principal, id: string, errorId: string): Promise<SmtpSettings> {
    let provider;
    try {
      provider = await this.providers.get(principal, id);
    } catch (err) {
      if (err instanceof DomainError && err.kind === "not_found") throw notFound(errorId, "SMTP configuration not found");
      throw err;
    }
    if (provider.config.kind !== "smtp") throw notFound(errorId, "SMTP configuration not found");
    return provider.config.smtp;
  }
}

function checkReceiver(receiver: string, errorId: string): void {
  if (!receiver.trim()) throw invalidArgument(errorId, "receiver address for the test email must not be empty");
  if (!isEmailAddress(receiver.trim())) throw invalidArgument(errorId, `receiver address "${receiver}" is not a valid e-mail address`);
}
