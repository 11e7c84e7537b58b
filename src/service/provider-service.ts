import { randomInt } from "node:crypto";
import type { Principal } from "../auth/tokens.js";
import type { WebhookGuard } from "../delivery/webhook-guard.js";
import { invalidArgument, notFound } from "../domain/errors.js";
import { clearGlobalSmtpSettings, editGlobalSmtpSettings, type GlobalSmtpPatch } from "../domain/global-settings.js";
import { newId } from "../domain/ids.js";
import {
  activateProvider,
  addHttpProvider,
  addSmtpProvider,
  checkWebhookEndpoint,
  deactivateProvider,
  removeProvider,
  setSmtpPassword,
  updateHttpProvider,
  updateSmtpProvider,
} from "../domain/provider-commands.js";
import type { Provider, ProviderEvent, SecretBox, SmtpInput } from "../domain/provider.js";
import type { ListQuery, ProviderReader, Store } from "../store/store.js";

/** What a mutation reports back: ObjectDetails in the product's words. */
export interface ChangeDetails {
  sequence: number;
  changeDate: Date;
  /** The provider's creation time, when the change created it. */
  creationDate?: Date;
  resourceOwner: string;
}

export const MAX_LIST_LIMIT = 1000;

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** 36 random alphanumeric characters, as ZITADEL's signing keys. */
export function newSigningKey(): string {
  let key = "";
  for (let i = 0; i < 36; i++) key += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return key;
}

const actorOf = (principal: Principal) => `token:${principal.tokenId}`;

/**
 * The provider use cases every dialect shares: load, decide, commit (event and projection in one
 * transaction), report the details.
 */
export class ProviderService {
  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly webhookGuard: WebhookGuard,
  ) {}

  get secrets(): SecretBox {
    return this.box;
  }

  private async commit(
    principal: Principal,
    decide: (view: ProviderReader) => Promise<ProviderEvent[]> | ProviderEvent[],
    unchanged: () => Promise<ChangeDetails>,
  ): Promise<ChangeDetails> {
    const result = await this.store.commitProviderEvents(principal.instanceId, actorOf(principal), decide);
    if (!result) return unchanged();
    return { sequence: result.sequence, changeDate: result.time, resourceOwner: principal.instanceId };
  }

  /** Details of a provider as it stands, for an update that changed nothing. */
  private async currentDetails(principal: Principal, id: string): Promise<ChangeDetails> {
    const provider = await this.store.getProvider(principal.instanceId, id);
    if (!provider) throw notFound("COMMAND-j5IDFtt3T1", "SMTP configuration not found");
    return { sequence: provider.sequence, changeDate: provider.changedAt, resourceOwner: principal.instanceId };
  }

  async get(principal: Principal, id: string): Promise<Provider> {
    const provider = await this.store.getProvider(principal.instanceId, id);
    if (!provider) throw notFound("QUERY-fwofw", "SMTP configuration not found");
    return provider;
  }

  async getActive(principal: Principal): Promise<Provider> {
    const provider = await this.store.getActiveProvider(principal.instanceId);
    if (!provider) throw notFound("QUERY-fwofw", "SMTP configuration not found");
    return provider;
  }

  async list(principal: Principal, query: Partial<ListQuery>): Promise<{ total: number; providers: Provider[]; sequence: number }> {
    const limit = query.limit || MAX_LIST_LIMIT;
    if (limit > MAX_LIST_LIMIT) {
      throw invalidArgument("QUERY-4M0fs", `list limit exceeded: given ${limit}, allowed at most ${MAX_LIST_LIMIT}`);
    }
    const [result, instance] = await Promise.all([
      this.store.listProviders(principal.instanceId, { offset: query.offset ?? 0, limit, asc: query.asc ?? false }),
      this.store.getInstance(principal.instanceId),
    ]);
    return { ...result, sequence: instance?.sequence ?? 0 };
  }

  // New ids are drawn inside `decide`: a commit retried after a collision gets a fresh one.

  async addSmtp(principal: Principal, input: SmtpInput): Promise<{ id: string; details: ChangeDetails }> {
    let id = "";
    const details = await this.commit(
      principal,
      () => addSmtpProvider((id = newId()), input, this.box),
      () => this.currentDetails(principal, id),
    );
    return { id, details };
  }

  async updateSmtp(principal: Principal, id: string, input: SmtpInput): Promise<ChangeDetails> {
    return this.commit(
      principal,
      async (view) => updateSmtpProvider(await view.getProvider(principal.instanceId, id), input, this.box),
      () => this.currentDetails(principal, id),
    );
  }

  async setSmtpPassword(principal: Principal, id: string, password: string): Promise<ChangeDetails> {
    return this.commit(
      principal,
      async (view) => setSmtpPassword(await view.getProvider(principal.instanceId, id), password, this.box),
      () => this.currentDetails(principal, id),
    );
  }

  async addHttp(principal: Principal, endpoint: string, description: string): Promise<{ id: string; signingKey: string; details: ChangeDetails }> {
    await this.webhookGuard.checkEndpoint(checkWebhookEndpoint(endpoint, "COMMAND-Sz84nFo3aK"), "COMMAND-Uf0294nKls");
    let id = "";
    const signingKey = newSigningKey();
    const details = await this.commit(
      principal,
      () => addHttpProvider((id = newId()), endpoint, description, signingKey, this.box),
      () => this.currentDetails(principal, id),
    );
    return { id, signingKey, details };
  }

  async updateHttp(
    principal: Principal,
    id: string,
    change: { endpoint: string; description: string; rotateSigningKey: boolean },
  ): Promise<{ signingKey?: string; details: ChangeDetails }> {
    await this.webhookGuard.checkEndpoint(checkWebhookEndpoint(change.endpoint, "COMMAND-Sz84nFo3aL"), "COMMAND-Uf0294nKls");
    const signingKey = change.rotateSigningKey ? newSigningKey() : undefined;
    const details = await this.commit(
      principal,
      async (view) =>
        updateHttpProvider(
          await view.getProvider(principal.instanceId, id),
          { endpoint: change.endpoint, description: change.description, newSigningKey: signingKey },
          this.box,
        ),
      () => this.currentDetails(principal, id),
    );
    return { signingKey, details };
  }

  async activate(principal: Principal, id: string): Promise<ChangeDetails> {
    const details = await this.commit(
      principal,
      async (view) => activateProvider(await view.getProvider(principal.instanceId, id)),
      () => this.currentDetails(principal, id),
    );
    return { ...details, creationDate: details.changeDate };
  }

  async deactivate(principal: Principal, id: string): Promise<ChangeDetails> {
    const details = await this.commit(
      principal,
      async (view) => deactivateProvider(await view.getProvider(principal.instanceId, id)),
      () => this.currentDetails(principal, id),
    );
    return { ...details, creationDate: details.changeDate };
  }

  async remove(principal: Principal, id: string): Promise<ChangeDetails> {
    return this.commit(
      principal,
      async (view) => removeProvider(await view.getProvider(principal.instanceId, id)),
      () => this.currentDetails(principal, id),
    );
  }

  /** The global email settings: the active provider when it is an SMTP provider. */
  async getGlobalSmtp(principal: Principal): Promise<Provider | undefined> {
    const provider = await this.store.getActiveProvider(principal.instanceId);
    return provider?.config.kind === "smtp" ? provider : undefined;
  }

  /**
   * Changes the global email settings and returns the provider that holds them. Reading the active
   * provider and deciding between "change it" and "add and activate a new one" happen inside one
   * commit, so a concurrent activation cannot slip in between and the two new events land together.
   */
  async editGlobalSmtp(principal: Principal, patch: GlobalSmtpPatch): Promise<Provider> {
    let id = "";
    await this.store.commitProviderEvents(principal.instanceId, actorOf(principal), async (view) => {
      const active = await view.getActiveProvider(principal.instanceId);
      const newProviderId = newId();
      id = active?.config.kind === "smtp" ? active.id : newProviderId;
      return editGlobalSmtpSettings(active, patch, newProviderId, this.box);
    });
    return this.get(principal, id);
  }

  /** Removes the active SMTP provider, if any (then no provider is active). */
  async clearGlobalSmtp(principal: Principal): Promise<void> {
    await this.store.commitProviderEvents(principal.instanceId, actorOf(principal), async (view) =>
      clearGlobalSmtpSettings(await view.getActiveProvider(principal.instanceId)),
    );
  }

  /** Opens a provider's HTTP signing key (returned on reads for ZITADEL compatibility). */
  openSigningKey(provider: Provider): string {
    return provider.config.kind === "http" ? this.box.open(provider.config.http.signingKey) : "";
  }
}
