/** What the test webhook receiver (webhook-receiver.ts, Node) and the workers tests exchange. */

/** A request the receiver recorded. Header names are lowercase. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** How the receiver answers one delivery: a status, never (until the caller gives up), or a dropped connection. */
export type ScriptedReply = { status: number } | { hang: true } | { reset: true };
