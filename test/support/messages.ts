import assert from "node:assert/strict";
import { rest } from "./app.js";

/** Sends a message over REST (a default body, `body` replaces or adds fields) and returns its id. */
export async function send(app: { url: string; auth: string }, body: Record<string, unknown> = {}, auth?: string): Promise<string> {
  const res = await rest(app, "POST", "/v1/messages", { to: ["ann@example.com"], subject: "Hello", text: "hi", ...body }, auth ?? app.auth);
  assert.equal(res.status, 200, res.text);
  return res.body.messageId;
}

/** A message as the REST API shows it. */
export async function messageOf(app: { url: string; auth: string }, id: string) {
  const res = await rest(app, "GET", `/v1/messages/${id}`);
  assert.equal(res.status, 200, res.text);
  return res.body.message;
}

/** For `until`: the message once it is in `state`. */
export const stateIs = (app: { url: string; auth: string }, id: string, state: string) => async () => {
  const m = await messageOf(app, id);
  return m.state === state && m;
};
