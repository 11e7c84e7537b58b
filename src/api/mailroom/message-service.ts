import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { invalidArgument } from "../../domain/errors.js";
import type { Message } from "../../domain/message.js";
import { MessageService, MessageState, MessageStateSchema, type MessageSchema } from "../../gen/mailroom/v1/messages_pb.js";
import type { OutboxService } from "../../service/outbox-service.js";
import { principalOf } from "../context.js";

/** A state a message can be in: a name of the generated enum, less its zero value. */
type StateName = Exclude<keyof typeof MessageState, "state_unspecified">;

/**
 * The ListMessages filter: none for state_unspecified, else the state's name in the generated
 * enum, which the domain shares (messageOut maps the other way). A number the enum does not
 * define is refused rather than read as "no filter".
 */
function stateFilter(state: MessageState): StateName | undefined {
  if (state === MessageState.state_unspecified) return undefined;
  // The reverse mapping of a numeric enum: a key of MessageState, or undefined for other numbers.
  const name = MessageState[state] as StateName | undefined;
  if (name === undefined) {
    const known = MessageStateSchema.values.map((v) => v.name).join(", ");
    throw invalidArgument("MSG-st1", `state: must be one of ${known} (got ${state})`);
  }
  return name;
}

function messageOut(m: Message): MessageInitShape<typeof MessageSchema> {
  return {
    messageId: m.id,
    state: MessageState[m.state],
    to: m.to,
    cc: m.cc,
    bcc: m.bcc,
    subject: m.subject,
    replyTo: m.replyTo,
    headerMessageId: m.headerMessageId,
    idempotencyKey: m.idempotencyKey,
    createTime: timestampFromDate(m.createdAt),
    updateTime: timestampFromDate(m.updatedAt),
    nextAttemptTime: m.nextAttemptAt ? timestampFromDate(m.nextAttemptAt) : undefined,
    sentTime: m.sentAt ? timestampFromDate(m.sentAt) : undefined,
    lastError: m.lastError,
    attempts: m.attempts.map((a) => ({
      time: timestampFromDate(a.time),
      providerId: a.providerId,
      ok: a.ok,
      permanent: a.permanent,
      smtpCode: a.smtpCode ?? 0,
      httpStatus: a.httpStatus ?? 0,
      detail: a.detail,
      duration: durationFromMs(a.durationMs),
      nodeId: a.nodeId,
    })),
  };
}

/** mailroom.v1.MessageService: thin handlers over OutboxService. */
export function messageService(outbox: OutboxService): ServiceImpl<typeof MessageService> {
  return {
    async sendEmail(req, ctx) {
      const { id } = await outbox.send(principalOf(ctx), {
        to: req.to,
        cc: req.cc,
        bcc: req.bcc,
        subject: req.subject,
        text: req.text,
        html: req.html,
        replyTo: req.replyTo,
        idempotencyKey: req.idempotencyKey,
      });
      return { messageId: id };
    },
    async getMessage(req, ctx) {
      return { message: messageOut(await outbox.get(principalOf(ctx), req.messageId)) };
    },
    async listMessages(req, ctx) {
      const state = stateFilter(req.state);
      const { total, messages } = await outbox.list(principalOf(ctx), { state, offset: Number(req.offset), limit: req.limit });
      return { totalResult: BigInt(total), result: messages.map(messageOut) };
    },
    async requeueMessage(req, ctx) {
      return { message: messageOut(await outbox.requeue(principalOf(ctx), req.messageId)) };
    },
    async cancelMessage(req, ctx) {
      return { message: messageOut(await outbox.cancel(principalOf(ctx), req.messageId)) };
    },
  };
}
