import type { Provider, ProviderEvent } from "../domain/provider.js";
import type { ChangeListener } from "./change-feed.js";
import type { Outbox } from "./outbox.js";

/** Who made a change, recorded with every event. */
export type Actor = string;

export interface ListQuery {
  offset: number;
  limit: number;
  asc: boolean;
}

/** The read side of providers, also handed to commands inside a commit. */
export interface ProviderReader {
  getProvider(instanceId: string, id: string): Promise<Provider | undefined>;
  getActiveProvider(instanceId: string): Promise<Provider | undefined>;
  listProviders(instanceId: string, query: ListQuery): Promise<{ total: number; providers: Provider[] }>;
}

export interface CommitResult {
  /** The instance sequence after the last event. */
  sequence: number;
  time: Date;
}

export interface StoredEvent {
  instanceId: string;
  sequence: number;
  type: string;
  aggregateId: string;
  time: Date;
  actor: Actor;
  payload: Record<string, unknown>;
}

export interface Instance {
  id: string;
  name: string;
  sequence: number;
}

export interface TokenRecord {
  id: string;
  instanceId: string;
  role: string;
  description: string;
  createdAt: Date;
  revokedAt: Date | null;
}


/**
 * The persistence boundary. SQLite and PostgreSQL implement it; the domain and the API see only
 * this interface.
 */
export interface Store extends ProviderReader {
  readonly dialect: "sqlite" | "postgres";
  readonly outbox: Outbox;

  /**
   * Runs `decide` against a consistent view, then appends its events and updates the provider
   * projection in one transaction. Returns undefined when `decide` returned no events.
   */
  commitProviderEvents(
    instanceId: string,
    actor: Actor,
    decide: (view: ProviderReader) => Promise<ProviderEvent[]> | ProviderEvent[],
  ): Promise<CommitResult | undefined>;

  listEvents(instanceId: string, afterSequence?: number): Promise<StoredEvent[]>;
  /**
   * Committed provider and outbox changes; on PostgreSQL those of every node, heard on a LISTEN
   * connection that the first subscription starts (a store nobody subscribes to holds none).
   */
  onChange(listener: ChangeListener): () => void;

  getInstance(id: string): Promise<Instance | undefined>;
  /** The first instance, created with `id` when the store has none. */
  ensureDefaultInstance(id: string, name: string): Promise<Instance>;

  createToken(token: { id: string; instanceId: string; role: string; tokenHash: string; description: string }): Promise<void>;
  findTokenByHash(tokenHash: string): Promise<TokenRecord | undefined>;
  listTokens(instanceId: string): Promise<TokenRecord[]>;
  /** Returns false when no unrevoked token has that id. */
  revokeToken(id: string): Promise<boolean>;

  /**
   * Runs `fn` while no other mailroom process on this database runs an `exclusive` section
   * (start-up bootstrapping when several nodes start at once).
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;

  /** Re-seals every stored secret (projection and event payloads) with `reseal`, in one transaction. */
  resealSecrets(reseal: (sealed: string) => string): Promise<number>;

  close(): Promise<void>;
}
