import pRetry from "p-retry";
import type { Principal } from "../auth/tokens.js";
import { invalidArgument, notFound } from "../domain/errors.js";
import { newId } from "../domain/ids.js";
import { checkCancel, checkDraft, checkRequeue, type Message, type MessageDraft, type MessageState } from "../domain/message.js";
import { isUniqueViolation } from "../store/errors.js";
import type { Store } from "../store/store.js";

const DEFAULT_MESSAGE_LIST_LIMIT = 100;
const MAX_MESSAGE_LIST_LIMIT = 1000;

/** The send API's use cases: accept durably, report, requeue, cancel. */
export class OutboxService {
  constructor(
    private readonly store: Store,
    private readonly messageIdDomain: string,
  ) {}

  /** Commits the message to the outbox before returning its id. */
  async send(principal: Principal, draft: MessageDraft): Promise<{ id: string; duplicate: boolean }> {
    const checked = checkDraft(draft);
    return pRetry(
      () => {
        const id = newId();
        return this.store.outbox.enqueue(principal.instanceId, checked, { id, headerMessageId: `<${id}@${this.messageIdDomain}>` }, new Date());
      },
      // Another node minted the same id in the same instant: draw again at once.
      { retries: 3, minTimeout: 0, shouldRetry: ({ error }) => isUniqueViolation(error) },
    );
  }

  async get(principal: Principal, id: string): Promise<Message> {
    const message = await this.store.outbox.get(principal.instanceId, id);
    if (!message) throw notFound("MSG-nf1", `message ${id} not found`);
    return message;
  }

  async list(principal: Principal, query: { state?: MessageState; offset: number; limit: number }) {
    const limit = query.limit || DEFAULT_MESSAGE_LIST_LIMIT;
    if (limit > MAX_MESSAGE_LIST_LIMIT) {
      throw invalidArgument("MSG-lim1", `limit: at most ${MAX_MESSAGE_LIST_LIMIT} (got ${limit})`);
    }
    return this.store.outbox.list(principal.instanceId, { ...query, limit });
  }

  async requeue(principal: Principal, id: string): Promise<Message> {
    const message = await this.store.outbox.transition(principal.instanceId, id, checkRequeue, "queued", new Date());
    if (!message) throw notFound("MSG-nf2", `message ${id} not found`);
    return message;
  }

  async cancel(principal: Principal, id: string): Promise<Message> {
    const message = await this.store.outbox.transition(principal.instanceId, id, checkCancel, "cancelled", new Date());
    if (!message) throw notFound("MSG-nf3", `message ${id} not found`);
    return message;
  }
}
