/**
 * The request of an expo-updates client (protocol v1 "Request", docs/protocol.md §10): its headers, checked
 * one by one. A header that is wrong gets a 400 naming it; a client that cannot read a multipart
 * answer, or speaks another protocol version, gets the 406 the protocol asks for.
 */
import * as z from 'zod';
import { nameSchema, runtimeSchema } from '../../protocol/documents.ts';
import { EXPO_PLATFORMS, type ExpoPlatform } from '../../protocol/expo.ts';
import { ApiError, badRequest } from '../http/errors.ts';

/** The most failed update ids a request may list (expo-updates sends the recent few). */
export const MAX_FAILED_IDS = 32;
const MAX_HEADER = 4096;

/** What the manifest route knows from an expo-updates request. */
export interface ExpoRequest {
  platform: ExpoPlatform;
  runtime: string;
  /** `expo-channel-name`, when the app sends one (`updates.requestHeaders`). */
  channel: string | undefined;
  /** `eas-client-id`, when sent. */
  clientId: string | undefined;
  /** The update it runs and the one built into it (lowercase UUIDs), when sent. */
  currentUpdateId: string | undefined;
  embeddedUpdateId: string | undefined;
  /** Updates that crashed on launch there (`expo-recent-failed-update-ids`), lowercase. */
  failedUpdateIds: string[];
  /** Whether it verifies code signatures (`expo-expect-signature` present). */
  expectsSignature: boolean;
}

const uuid = z.uuid();

/** Reads and checks the headers of an expo-updates manifest request. */
export function parseExpoRequest(headers: Headers): ExpoRequest {
  const header = (name: string) => {
    const value = headers.get(name) ?? undefined;
    if (value !== undefined && value.length > MAX_HEADER)
      throw badRequest('invalid_header', `${name} is over ${MAX_HEADER} characters`);
    return value?.trim();
  };
  const protocol = header('expo-protocol-version');
  if (protocol !== '1') {
    throw new ApiError(
      406,
      'unsupported_protocol',
      `this server speaks expo-updates protocol 1; the request says ${protocol ?? 'none (protocol 0)'}: use expo-updates 0.15 or later`,
    );
  }
  const accept = header('accept');
  if (accept !== undefined && !/multipart\/mixed|multipart\/\*|\*\/\*/i.test(accept)) {
    throw new ApiError(
      406,
      'not_acceptable',
      'the answer is multipart/mixed, which the accept header leaves out',
    );
  }
  const platform = EXPO_PLATFORMS.find((p) => p === header('expo-platform'));
  if (!platform) throw badRequest('invalid_header', 'expo-platform must be ios or android');
  const runtime = header('expo-runtime-version');
  if (runtime === undefined || runtime === '')
    throw badRequest('invalid_header', "expo-runtime-version is required (the app's runtimeVersion)");
  if (!runtimeSchema.safeParse(runtime).success)
    throw badRequest('invalid_header', 'expo-runtime-version must be 1-255 printable ASCII characters');
  const channel = header('expo-channel-name');
  if (channel !== undefined && !nameSchema.safeParse(channel).success) {
    throw badRequest(
      'invalid_header',
      'expo-channel-name must be an Updraft channel name: 1-63 of a-z, 0-9 and -, starting with a letter or digit',
    );
  }
  return {
    platform,
    runtime,
    channel,
    clientId: header('eas-client-id'),
    currentUpdateId: updateId(header('expo-current-update-id'), 'expo-current-update-id'),
    embeddedUpdateId: updateId(header('expo-embedded-update-id'), 'expo-embedded-update-id'),
    failedUpdateIds: failedIds(header('expo-recent-failed-update-ids')),
    expectsSignature: headers.has('expo-expect-signature'),
  };
}

function updateId(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if (!uuid.safeParse(lower).success) throw badRequest('invalid_header', `${name} must be a UUID`);
  return lower;
}

/**
 * `expo-recent-failed-update-ids`: a structured-field list of strings (RFC 8941), each a UUID, as
 * expo-updates serializes it: `"id1", "id2"`.
 */
function failedIds(value: string | undefined): string[] {
  if (value === undefined || value === '') return [];
  const items = value.split(',').map((item) => item.trim());
  if (items.length > MAX_FAILED_IDS) {
    throw badRequest('invalid_header', `expo-recent-failed-update-ids lists over ${MAX_FAILED_IDS} ids`);
  }
  const ids = items.map((item) => {
    const quoted = /^"([0-9A-Fa-f-]{36})"$/.exec(item)?.[1]?.toLowerCase();
    if (quoted === undefined || !uuid.safeParse(quoted).success) {
      throw badRequest(
        'invalid_header',
        'expo-recent-failed-update-ids must be a list of quoted UUIDs: "<uuid>", "<uuid>"',
      );
    }
    return quoted;
  });
  return [...new Set(ids)];
}
