import type { DescField, DescMessage, Message } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import type { Duration } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { isEmailAddress } from "../domain/address.js";
import { rules, type FieldRules } from "../gen/mailroom/options/v1/options_pb.js";
import { cachedOption } from "./proto-options.js";

// Enforces the (mailroom.options.v1.rules) annotations of a request message, reporting the first
// violation in the wording of protoc-gen-validate, which ZITADEL's clients already show to users:
//   invalid AddEmailProviderSMTPRequest.SenderAddress: value length must be between 1 and 200 runes, inclusive

/** Rules of a field, read from its descriptor once (reading an option allocates). */
const rulesOf = (field: DescField): FieldRules | undefined => cachedOption(field, rules);

const goName = (field: DescField) => field.name.split("_").map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join("");

function lengthRule(r: FieldRules): string {
  const min = r.minRunes ?? 0;
  if (r.maxRunes !== undefined && min > 0) return `value length must be between ${min} and ${r.maxRunes} runes, inclusive`;
  if (r.maxRunes !== undefined) return `value length must be at most ${r.maxRunes} runes`;
  return `value length must be at least ${min} runes`;
}

function checkString(value: string, r: FieldRules): string | undefined {
  const runes = [...value].length;
  if ((r.minRunes !== undefined && runes < r.minRunes) || (r.maxRunes !== undefined && runes > r.maxRunes)) return lengthRule(r);
  if (r.email && !isEmailAddress(value, { displayName: true })) return "value must be a valid email address";
  return undefined;
}

function violation(message: ReflectMessage): string | undefined {
  const name = message.desc.name;
  for (const field of message.fields) {
    const r = rulesOf(field);
    const label = `${name}.${goName(field)}`;
    if (field.fieldKind === "scalar" && r && typeof message.get(field) === "string") {
      const reason = checkString(message.get(field) as string, r);
      if (reason) return `invalid ${label}: ${reason}`;
    } else if (field.fieldKind === "list") {
      const list = message.get(field);
      if (r?.maxItems !== undefined && list.size > r.maxItems) return `invalid ${label}: value must contain no more than ${r.maxItems} item(s)`;
      if (r && field.listKind === "scalar") {
        for (let i = 0; i < list.size; i++) {
          const item = list.get(i);
          const reason = typeof item === "string" ? checkString(item, r) : undefined;
          if (reason) return `invalid ${label}[${i}]: ${reason}`;
        }
      } else if (field.listKind === "message") {
        for (let i = 0; i < list.size; i++) {
          const inner = violation(list.get(i) as ReflectMessage);
          if (inner) return `invalid ${label}[${i}]: embedded message failed validation | caused by: ${inner}`;
        }
      }
    } else if (field.fieldKind === "message" && message.isSet(field)) {
      const value = message.get(field) as ReflectMessage;
      if (r?.zeroDuration) {
        const d = value.message as unknown as Duration;
        if (d.seconds !== 0n || d.nanos !== 0) return `invalid ${label}: value must equal 0s`;
        continue;
      }
      const inner = violation(value);
      if (inner) return `invalid ${label}: embedded message failed validation | caused by: ${inner}`;
    }
  }
  return undefined;
}

/** Throws INVALID_ARGUMENT naming the message, the field and the rule of the first violation. */
export function validateRequest(desc: DescMessage, message: Message): void {
  const reason = violation(reflect(desc, message));
  if (reason) throw new ConnectError(reason, Code.InvalidArgument);
}
