import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { SmtpProviderTester } from "../../delivery/smtp-tester.js";
import { DiagnosticsService } from "../../gen/mailroom/v1/diagnostics_pb.js";
import { principalOf } from "../context.js";

/** mailroom.v1.DiagnosticsService: the SMTP test's steps as data. */
export function diagnosticsService(tester: SmtpProviderTester): ServiceImpl<typeof DiagnosticsService> {
  return {
    async testProvider(req, ctx) {
      const report = await tester.reportStored(principalOf(ctx), req.providerId, req.receiverAddress);
      return {
        ok: report.ok,
        transcript: report.transcript,
        steps: report.steps.map((s) => ({
          name: s.name,
          ok: s.ok,
          reply: s.reply ?? "",
          code: s.code ?? 0,
          duration: durationFromMs(s.durationMs),
          hint: s.hint ?? "",
        })),
      };
    },
  };
}
