import { sql, type Transaction } from "kysely";
import type { Database } from "./schema.js";

/** What other parts of this node (and, on PostgreSQL, every node) hear after a commit. */
export type StoreChange =
  /**
   * Providers a commit changed. `fromSequence` is the first instance sequence the commit wrote:
   * each listed provider's version (its sequence) is now at or above it; older versions are stale.
   */
  | { kind: "providers"; instanceId: string; providerIds: string[]; fromSequence: number }
  | { kind: "outbox" };

export type ChangeListener = (change: StoreChange) => void;

/**
 * Publishes committed changes. `publish` runs inside the writing transaction; listeners hear the
 * change only once it is committed.
 */
export interface ChangeFeed {
  publish(tx: Transaction<Database>, change: StoreChange): Promise<void>;
  /** Called by the store after the transaction that published `changes` committed. */
  committed(changes: StoreChange[]): void;
  subscribe(listener: ChangeListener): () => void;
  close(): Promise<void>;
}

/** One process on its own database: changes are delivered in-process after commit. */
export class LocalChangeFeed implements ChangeFeed {
  protected readonly listeners = new Set<ChangeListener>();

  async publish(_tx: Transaction<Database>, _change: StoreChange): Promise<void> {}

  committed(changes: StoreChange[]): void {
    for (const change of changes) this.emit(change);
  }

  protected emit(change: StoreChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure must not undo or hide a committed change.
      }
    }
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {}
}

export const NOTIFY_CHANNEL = "mailroom_changes";

/** The connection that LISTENs for a PostgresChangeFeed; it reconnects by itself until closed. */
export interface NotificationListener {
  close(): Promise<void>;
}

/**
 * PostgreSQL LISTEN/NOTIFY: the notification is sent with the transaction, so every node
 * (this one included) hears of a change exactly when it becomes visible.
 *
 * Only a process that subscribes needs to hear them (the delivery thread): the LISTEN connection
 * is started by `listen` on the first subscription, so the API thread and CLI commands hold none.
 * Changes committed before the LISTEN takes effect are covered by a `resync` once it does.
 */
export class PostgresChangeFeed extends LocalChangeFeed {
  private listener: NotificationListener | undefined;
  private closed = false;

  constructor(private readonly listen: (feed: PostgresChangeFeed) => NotificationListener) {
    super();
  }

  override subscribe(listener: ChangeListener): () => void {
    const unsubscribe = super.subscribe(listener);
    if (!this.listener && !this.closed) this.listener = this.listen(this);
    return unsubscribe;
  }

  override async close(): Promise<void> {
    this.closed = true;
    await this.listener?.close();
  }

  override async publish(tx: Transaction<Database>, change: StoreChange): Promise<void> {
    await sql`select pg_notify(${NOTIFY_CHANNEL}, ${JSON.stringify(change)})`.execute(tx);
  }

  /** Delivery happens when the notification arrives through `deliver`. */
  override committed(): void {}

  deliver(payload: string | undefined): void {
    if (!payload) return;
    try {
      this.emit(JSON.parse(payload) as StoreChange);
    } catch {
      // Not ours.
    }
  }

  /** Before the LISTEN took effect, or after it was lost, changes may have been missed: everyone looks again. */
  resync(): void {
    this.emit({ kind: "outbox" });
  }
}
