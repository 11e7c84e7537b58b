import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { AuthInput, Provider, SmtpInput, SmtpSettings } from "../../domain/provider.js";
import type { ChangeDetails } from "../../service/provider-service.js";
import type {
  AddEmailProviderSMTPRequest,
  AddSMTPConfigRequest,
  SMTPPlainAuth,
  SMTPXOAuth2Auth,
  SMTPNoAuth,
  TestEmailProviderSMTPRequest,
  TestSMTPConfigRequest,
  UpdateEmailProviderSMTPRequest,
  UpdateSMTPConfigRequest,
} from "../../gen/zitadel/admin_pb.js";
import { ListDetailsSchema, ObjectDetailsSchema, type ObjectDetails } from "../../gen/zitadel/object_pb.js";
import {
  EmailProviderState,
  SMTPConfigState,
  type EmailProviderSchema,
  type EmailProviderSMTPSchema,
  type SMTPConfigSchema,
} from "../../gen/zitadel/settings_pb.js";

// Wire <-> domain translation for the ZITADEL dialect. No rules live here.

type AuthOneof =
  | { case: "none"; value: SMTPNoAuth }
  | { case: "plain"; value: SMTPPlainAuth }
  | { case: "xoauth2"; value: SMTPXOAuth2Auth }
  | { case: undefined; value?: undefined };

export function authInputOf(auth: AuthOneof): AuthInput | undefined {
  switch (auth.case) {
    case "none":
      return { kind: "none" };
    case "plain":
      return { kind: "plain", password: auth.value.password };
    case "xoauth2": {
      const credentials = auth.value.oauth2Type.case === "clientCredentials" ? auth.value.oauth2Type.value : undefined;
      return {
        kind: "xoauth2",
        tokenEndpoint: auth.value.tokenEndpoint,
        scopes: [...auth.value.scopes],
        clientId: credentials?.clientId ?? "",
        clientSecret: credentials?.clientSecret ?? "",
      };
    }
    default:
      return undefined;
  }
}

type SmtpRequest =
  | AddSMTPConfigRequest
  | AddEmailProviderSMTPRequest
  | UpdateSMTPConfigRequest
  | UpdateEmailProviderSMTPRequest
  | TestSMTPConfigRequest
  | TestEmailProviderSMTPRequest;

export function smtpInputOf(req: SmtpRequest): SmtpInput {
  return {
    description: "description" in req ? req.description : "",
    senderAddress: req.senderAddress,
    senderName: req.senderName,
    replyToAddress: "replyToAddress" in req ? req.replyToAddress : "",
    host: req.host,
    user: req.user,
    tls: req.tls,
    password: req.password,
    auth: "auth" in req ? authInputOf(req.auth) : undefined,
  };
}

export function changeDetails(d: ChangeDetails): ObjectDetails {
  return create(ObjectDetailsSchema, {
    sequence: BigInt(d.sequence),
    changeDate: timestampFromDate(d.changeDate),
    creationDate: d.creationDate && timestampFromDate(d.creationDate),
    resourceOwner: d.resourceOwner,
  });
}

export function viewDetails(p: Provider): ObjectDetails {
  return create(ObjectDetailsSchema, {
    sequence: BigInt(p.sequence),
    creationDate: timestampFromDate(p.createdAt),
    changeDate: timestampFromDate(p.changedAt),
    resourceOwner: p.instanceId,
  });
}

export function listDetails(total: number, sequence: number) {
  return create(ListDetailsSchema, {
    totalResult: BigInt(total),
    processedSequence: BigInt(sequence),
    viewTimestamp: timestampFromDate(new Date()),
  });
}

const isTls = (smtp: SmtpSettings) => smtp.tls !== "none";

function smtpAuthOut(smtp: SmtpSettings): MessageInitShape<typeof EmailProviderSMTPSchema>["auth"] {
  const auth = smtp.auth;
  switch (auth.kind) {
    case "none":
      return { case: "none", value: {} };
    case "plain":
      return { case: "plain", value: {} };
    case "xoauth2":
      return {
        case: "xoauth2",
        value: {
          tokenEndpoint: auth.tokenEndpoint,
          scopes: auth.scopes,
          oauth2Type: { case: "clientCredentials", value: { clientId: auth.clientId } },
        },
      };
  }
}

export function emailProviderOf(p: Provider, signingKey: string): MessageInitShape<typeof EmailProviderSchema> {
  const config: MessageInitShape<typeof EmailProviderSchema>["config"] =
    p.config.kind === "smtp"
      ? {
          case: "smtp",
          value: {
            senderAddress: p.config.smtp.senderAddress,
            senderName: p.config.smtp.senderName,
            tls: isTls(p.config.smtp),
            host: p.config.smtp.host,
            user: p.config.smtp.user,
            replyToAddress: p.config.smtp.replyToAddress,
            auth: smtpAuthOut(p.config.smtp),
          },
        }
      : { case: "http", value: { endpoint: p.config.http.endpoint, signingKey } };
  return {
    details: viewDetails(p),
    id: p.id,
    state: p.state === "active" ? EmailProviderState.EMAIL_PROVIDER_ACTIVE : EmailProviderState.EMAIL_PROVIDER_INACTIVE,
    description: p.description,
    config,
  };
}

/** The deprecated read model; an HTTP provider shows only its id, state and description. */
export function smtpConfigOf(p: Provider): MessageInitShape<typeof SMTPConfigSchema> {
  const base = {
    details: viewDetails(p),
    id: p.id,
    description: p.description,
    state: p.state === "active" ? SMTPConfigState.SMTP_CONFIG_ACTIVE : SMTPConfigState.SMTP_CONFIG_INACTIVE,
  };
  if (p.config.kind !== "smtp") return base;
  const smtp = p.config.smtp;
  return {
    ...base,
    senderAddress: smtp.senderAddress,
    senderName: smtp.senderName,
    tls: isTls(smtp),
    host: smtp.host,
    user: smtp.user,
    replyToAddress: smtp.replyToAddress,
  };
}
