/**
 * The Sparkle adapter (docs/protocol.md §9) through the real Worker, with releases published, promoted, halted
 * and yanked through the admin API. Each appcast is parsed by a namespace-aware XML parser that fails
 * on any well-formedness error, and read the way Sparkle's SUAppcast.m reads it: the first-level
 * children of `/rss/channel/item`, a child in Sparkle's namespace URI named `sparkle:<localName>`
 * whatever its prefix, the enclosure as its attributes.
 */
import { env, exports } from 'cloudflare:workers';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { describe, expect, it } from 'vitest';
import { bucket } from '../../src/protocol/bucket.ts';
import type { Artifact, ReleasePayload } from '../../src/protocol/documents.ts';
import { randomHex, sha256Hex } from '../../src/protocol/encoding.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { SPARKLE_NS } from '../../src/worker/adapters/sparkle-appcast.ts';
import { channelKey } from '../../src/worker/storage/projection.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import {
  admin,
  bootstrapKeys,
  type ChannelViewBody,
  call,
  createApp,
  type ErrorBody,
  ORIGIN,
  promote,
  signYank,
  uniqueApp,
} from './support/fixtures.ts';

/** The app's Sparkle key pair (`generate_keys`): SUPublicEDKey is base64 of the raw public key. */
const sparkleKeys = crypto.subtle.generateKey({ name: 'Ed25519' }, true, [
  'sign',
  'verify',
]) as Promise<CryptoKeyPair>;

const base64 = (bytes: ArrayBuffer | Uint8Array) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes))));
const unbase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

async function suPublicEDKey(): Promise<string> {
  const { publicKey } = await sparkleKeys;
  return base64((await crypto.subtle.exportKey('raw', publicKey)) as ArrayBuffer);
}

/** What Sparkle's `sign_update` prints for a file: the Ed25519 signature of its bytes, in base64. */
async function signUpdate(bytes: Uint8Array): Promise<string> {
  const { privateKey } = await sparkleKeys;
  return base64(await crypto.subtle.sign('Ed25519', privateKey, bytes));
}

interface MacRelease {
  arch?: 'universal' | 'arm64' | 'x64';
  os?: string;
  notes?: string;
  mandatory?: boolean;
  /** Leave out `ed_signature`, as a release published without the Sparkle key would. */
  unsigned?: boolean;
}

/** Uploads a macOS archive, signs it as `sign_update` would, and registers the release. */
async function publishMac(app: string, version: string, options: MacRelease = {}): Promise<Uint8Array> {
  const keys = await bootstrapKeys();
  const arch = options.arch ?? 'universal';
  const file = `${app}_${version}.zip`;
  const bytes = new TextEncoder().encode(`${app} ${version} darwin-${arch} ${randomHex(16)}`);
  const sha256 = await sha256Hex(bytes);
  const upload = await admin(`/apps/${app}/uploads/${version}/darwin-${arch}/${file}`, {
    method: 'PUT',
    body: bytes,
    headers: { 'Content-Type': 'application/zip', 'X-Updraft-Sha256': sha256 },
  });
  expect(upload.status).toBe(201);
  const artifact: Artifact = { platform: 'darwin', arch, file, sha256, size: bytes.length };
  if (options.os !== undefined) artifact.os = options.os;
  if (!options.unsigned) artifact.ed_signature = await signUpdate(bytes);
  const payload: ReleasePayload = {
    app,
    version,
    published_at: '2026-11-20T12:00:00Z',
    notes: options.notes ?? `release ${version}`,
    mandatory: options.mandatory ?? false,
    critical: false,
    requires: '*',
    artifacts: [artifact],
  };
  const manifest = await signDocument('release', payload, keys.release);
  const registered = await admin(`/apps/${app}/releases`, { method: 'POST', body: { manifest } });
  expect(registered.status).toBe(201);
  return bytes;
}

/** An item as Sparkle's parser indexes it: element name → text, the enclosure → its attributes. */
interface ParsedItem {
  elements: Map<string, string>;
  enclosure: Map<string, string>;
}

interface Appcast {
  response: Response;
  items: ParsedItem[];
}

/** The name SUAppcast.m gives a node: `sparkle:<localName>` in Sparkle's namespace, else its name. */
const sparkleName = (node: { namespaceURI: string | null; localName: string | null; nodeName: string }) =>
  node.namespaceURI === SPARKLE_NS ? `sparkle:${node.localName}` : node.nodeName;

function parseAppcast(xml: string): ParsedItem[] {
  const doc = new DOMParser({
    // Warnings (such as a U+FFFD in the text) are not well-formedness errors; errors are.
    onError: (level, message) => {
      if (level !== 'warning') throw new Error(`${level}: ${message}`);
    },
  }).parseFromString(xml, 'text/xml');
  const rss = doc.documentElement;
  expect(rss?.nodeName).toBe('rss');
  expect(rss?.getAttribute('version')).toBe('2.0');
  const channels = rss ? Array.from(rss.childNodes).filter((n) => n.nodeName === 'channel') : [];
  expect(channels).toHaveLength(1);
  const channel = channels[0] as Element;
  for (const required of ['title', 'link', 'description']) {
    expect(channel.getElementsByTagName(required).length).toBeGreaterThan(0);
  }
  return Array.from(channel.childNodes)
    .filter((n): n is Element => n.nodeType === 1 && n.nodeName === 'item')
    .map((item) => {
      const elements = new Map<string, string>();
      const enclosure = new Map<string, string>();
      for (const child of Array.from(item.childNodes)) {
        if (child.nodeType !== 1) continue;
        const element = child as Element;
        const name = sparkleName(element);
        expect(elements.has(name)).toBe(false);
        elements.set(name, element.textContent ?? '');
        if (name === 'enclosure') {
          for (const attr of Array.from(element.attributes)) enclosure.set(sparkleName(attr), attr.value);
        }
      }
      return { elements, enclosure };
    });
}

async function appcast(
  app: string,
  params: Record<string, string> = {},
  options: { channel?: string; headers?: Record<string, string> } = {},
): Promise<Appcast> {
  const query = new URLSearchParams(params);
  const response = await call(`/v1/apps/${app}/sparkle/${options.channel ?? 'stable'}/appcast.xml?${query}`, {
    token: null,
    headers: options.headers,
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('Content-Type')).toBe('application/rss+xml; charset=utf-8');
  return { response, items: parseAppcast(await response.text()) };
}

/** The one item, or undefined for an empty appcast. */
async function itemOf(app: string, params: Record<string, string> = {}): Promise<ParsedItem | undefined> {
  const { items } = await appcast(app, params);
  expect(items.length).toBeLessThanOrEqual(1);
  return items[0];
}

/** Every element and attribute this adapter may write, by the names Sparkle's SUConstants.m gives them. */
const SPARKLE_ELEMENTS = new Set([
  'title',
  'pubDate',
  'description',
  'enclosure',
  'sparkle:version',
  'sparkle:shortVersionString',
  'sparkle:minimumSystemVersion',
  'sparkle:criticalUpdate',
]);
const ENCLOSURE_ATTRIBUTES = new Set(['url', 'length', 'type', 'sparkle:edSignature']);

/** Promotes through the admin API and forgets this isolate's cached channel state. */
async function promoted(app: string, version: string, percentBp = 10_000): Promise<ChannelViewBody> {
  const result = await promote(app, 'stable', version, percentBp);
  expect(result.status).toBe(200);
  clearStateCache();
  return result.body;
}

async function act(app: string, version: string, action: string) {
  const result = await admin(`/apps/${app}/channels/stable/rollouts/${version}/${action}`, {
    method: 'POST',
    body: { reason: 'test' },
  });
  expect(result.status).toBe(200);
  clearStateCache();
}

describe('GET /v1/apps/{app}/sparkle/{channel}/appcast.xml', () => {
  it('serves the decision as the only item, with every element named as Sparkle parses it', async () => {
    const app = await createApp(uniqueApp('sparkle'));
    await publishMac(app, '1.0.0');
    await publishMac(app, '1.1.0');
    await promoted(app, '1.0.0');
    await promoted(app, '1.1.0');

    const { response, items } = await appcast(app, { client_id: 'mac-1', version: '1.0.0' });
    expect(response.headers.get('Cache-Control')).toBe('private, no-cache');
    expect(items).toHaveLength(1);
    const item = items[0] as ParsedItem;
    for (const name of item.elements.keys()) expect(SPARKLE_ELEMENTS.has(name)).toBe(true);
    for (const name of item.enclosure.keys()) expect(ENCLOSURE_ATTRIBUTES.has(name)).toBe(true);
    expect(item.elements.get('title')).toBe(`${app} 1.1.0`);
    expect(item.elements.get('pubDate')).toBe('Fri, 20 Nov 2026 12:00:00 +0000');
    expect(item.elements.get('sparkle:version')).toBe('1.1.0');
    expect(item.elements.get('sparkle:shortVersionString')).toBe('1.1.0');
    expect(item.elements.has('sparkle:criticalUpdate')).toBe(false);
    expect(item.elements.has('sparkle:minimumSystemVersion')).toBe(false);
    expect(item.enclosure.get('url')).toBe(
      `${ORIGIN}/v1/apps/${app}/artifacts/1.1.0/darwin-universal/${app}_1.1.0.zip?client_id=mac-1&via=sparkle`,
    );
    expect(item.enclosure.get('type')).toBe('application/octet-stream');
    expect(item.enclosure.get('sparkle:edSignature')).toMatch(/^[A-Za-z0-9+/]{86}==$/);

    // Up to date: an appcast with no item, which Sparkle reads as "no update". Build metadata is ignored.
    expect(await itemOf(app, { client_id: 'mac-1', version: '1.1.0' })).toBeUndefined();
    expect(await itemOf(app, { client_id: 'mac-1', version: '1.1.0+45' })).toBeUndefined();
  });

  it('hands out an enclosure whose bytes verify against the pinned SUPublicEDKey, as Sparkle checks them', async () => {
    const app = await createApp(uniqueApp('sparkle-sig'));
    const bytes = await publishMac(app, '2.0.0');
    await promoted(app, '2.0.0');
    const item = await itemOf(app, { client_id: 'mac-sig', version: '1.0.0' });
    const url = item?.enclosure.get('url') ?? '';
    const download = await exports.default.fetch(new Request(url));
    expect(download.status).toBe(200);
    const downloaded = new Uint8Array(await download.arrayBuffer());
    expect(downloaded).toEqual(bytes);
    expect(Number(item?.enclosure.get('length'))).toBe(downloaded.length);

    // What the app pins: 32 raw bytes of the Ed25519 public key, base64 (SUSignatures.m checks the length).
    const pinned = unbase64(await suPublicEDKey());
    expect(pinned.length).toBe(32);
    const key = await crypto.subtle.importKey('raw', pinned, { name: 'Ed25519' }, false, ['verify']);
    const signature = unbase64(item?.enclosure.get('sparkle:edSignature') ?? '');
    expect(signature.length).toBe(64);
    expect(await crypto.subtle.verify('Ed25519', key, signature, downloaded)).toBe(true);
    const tampered = downloaded.slice();
    tampered[0] = (tampered[0] ?? 0) ^ 1;
    expect(await crypto.subtle.verify('Ed25519', key, signature, tampered)).toBe(false);
  });

  it('offers a 10 % rollout to exactly the clients whose bucket is inside it, and a halt stops it', async () => {
    const app = await createApp(uniqueApp('sparkle-roll'));
    await publishMac(app, '1.0.0');
    await publishMac(app, '1.1.0');
    await promoted(app, '1.0.0');
    const view = await promoted(app, '1.1.0', 1000);
    const salt = view.rollouts.find((r) => r.version === '1.1.0')?.salt ?? '';

    const ids = Array.from({ length: 1500 }, (_, i) => `mac-client-${i}`);
    const inside = new Set<string>();
    for (const id of ids) if ((await bucket(salt, id)) < 1000) inside.add(id);
    expect(inside.size).toBeGreaterThan(100);
    expect(inside.size).toBeLessThan(200);
    const offered = new Set<string>();
    for (let i = 0; i < ids.length; i += 250) {
      const batch = ids.slice(i, i + 250);
      const items = await Promise.all(batch.map((id) => itemOf(app, { client_id: id, version: '1.0.0' })));
      items.forEach((item, j) => {
        const id = batch[j];
        if (item && id) {
          expect(item.elements.get('sparkle:version')).toBe('1.1.0');
          offered.add(id);
        }
      });
    }
    expect([...offered].sort()).toEqual([...inside].sort());

    // Without its version (docs/protocol.md §3 rule 5) a client gets the highest release it is inside the
    // rollout of; Sparkle itself then ignores one that is not newer than what it runs.
    const [first] = inside;
    const outside = ids.find((id) => !inside.has(id)) ?? '';
    expect((await itemOf(app, { client_id: first ?? '' }))?.elements.get('sparkle:version')).toBe('1.1.0');
    expect((await itemOf(app, { client_id: outside }))?.elements.get('sparkle:version')).toBe('1.0.0');

    await act(app, '1.1.0', 'halt');
    for (const id of [...inside].slice(0, 50)) {
      expect(await itemOf(app, { client_id: id, version: '1.0.0' })).toBeUndefined();
    }
  }, 120_000);

  it('stops offering a yanked release; a client on it gets the rollback item, critical', async () => {
    const app = await createApp(uniqueApp('sparkle-yank'));
    await publishMac(app, '1.0.0');
    await publishMac(app, '1.1.0');
    await promoted(app, '1.0.0');
    await promoted(app, '1.1.0');
    expect((await itemOf(app, { client_id: 'y', version: '1.0.0' }))?.elements.get('sparkle:version')).toBe(
      '1.1.0',
    );
    const yank = await admin(`/apps/${app}/yanks`, {
      method: 'POST',
      body: { yank: await signYank(app, '1.1.0', '1.0.0') },
    });
    expect(yank.status).toBe(201);
    clearStateCache();
    expect(await itemOf(app, { client_id: 'y', version: '1.0.0' })).toBeUndefined();
    const rollback = await itemOf(app, { client_id: 'y', version: '1.1.0' });
    expect(rollback?.elements.get('sparkle:version')).toBe('1.0.0');
    expect(rollback?.elements.has('sparkle:criticalUpdate')).toBe(true);
  });

  it('marks a mandatory release critical and maps the os range to minimumSystemVersion', async () => {
    const app = await createApp(uniqueApp('sparkle-os'));
    await publishMac(app, '3.0.0', { os: '>=13.0.0', mandatory: true });
    await promoted(app, '3.0.0');
    const item = await itemOf(app, { client_id: 'os', version: '2.0.0', os_version: '14.2' });
    expect(item?.elements.get('sparkle:minimumSystemVersion')).toBe('13.0.0');
    expect(item?.elements.get('sparkle:criticalUpdate')).toBe('');
    // Sparkle's own system profile names it osVersion.
    expect(await itemOf(app, { client_id: 'os', version: '2.0.0', osVersion: '13.1' })).toBeDefined();
    // Below the range, or without an OS version, the decision offers nothing (docs/protocol.md §3).
    expect(await itemOf(app, { client_id: 'os', version: '2.0.0', os_version: '12.7' })).toBeUndefined();
    expect(await itemOf(app, { client_id: 'os', version: '2.0.0' })).toBeUndefined();
  });

  it('maps a prerelease to a sparkle:version Sparkle orders correctly and keeps the semver for display', async () => {
    const app = await createApp(uniqueApp('sparkle-pre'));
    await publishMac(app, '1.2.0-beta.2');
    await promoted(app, '1.2.0-beta.2');
    const item = await itemOf(app, { client_id: 'pre', version: '1.1.0' });
    expect(item?.elements.get('sparkle:version')).toBe('1.2.0beta.2');
    expect(item?.elements.get('sparkle:shortVersionString')).toBe('1.2.0-beta.2');
  });

  it('keeps hostile release notes inside a well-formed description, shown as text', async () => {
    const app = await createApp(uniqueApp('sparkle-notes'));
    const notes = 'fixes ]]> and <script>alert("x")</script> & \u0000 bell\u0007 ]]]]> end';
    await publishMac(app, '1.0.1', { notes });
    await promoted(app, '1.0.1');
    const item = await itemOf(app, { client_id: 'notes', version: '1.0.0' });
    const description = item?.elements.get('description') ?? '';
    expect(description).toBe(
      '<div style="white-space: pre-wrap">fixes ]]&gt; and &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; \uFFFD bell\uFFFD ]]]]&gt; end</div>',
    );
  });

  it('withholds a release without ed_signature, which Sparkle would refuse, and says why', async () => {
    const app = await createApp(uniqueApp('sparkle-unsigned'));
    await publishMac(app, '1.0.0', { unsigned: true });
    await promoted(app, '1.0.0');
    const { response, items } = await appcast(app, { client_id: 'u', version: '0.9.0' });
    expect(items).toHaveLength(0);
    expect(response.headers.get('Updraft-Withheld')).toBe('1.0.0 has no ed_signature for darwin-universal');
  });

  it('serves a universal build by default, and a Mac that names its arch the better of its own and universal', async () => {
    const app = await createApp(uniqueApp('sparkle-arch'));
    await publishMac(app, '1.0.0', { arch: 'arm64' });
    await publishMac(app, '1.1.0', { arch: 'universal' });
    await promoted(app, '1.0.0');
    expect(await itemOf(app, { client_id: 'a', version: '0.9.0' })).toBeUndefined();
    const arm = await itemOf(app, { client_id: 'a', version: '0.9.0', arch: 'arm64' });
    expect(arm?.enclosure.get('url')).toContain('/1.0.0/darwin-arm64/');
    expect(await itemOf(app, { client_id: 'a', version: '0.9.0', arch: 'x64' })).toBeUndefined();
    await promoted(app, '1.1.0');
    const both = await itemOf(app, { client_id: 'a', version: '0.9.0', arch: 'arm64' });
    expect(both?.enclosure.get('url')).toContain('/1.1.0/darwin-universal/');
    expect(
      (await itemOf(app, { client_id: 'a', version: '0.9.0', arch: 'x64' }))?.enclosure.get('url'),
    ).toContain('/1.1.0/darwin-universal/');
  });

  it('buckets a client without client_id by a pseudonymous id of its IP and User-Agent', async () => {
    const app = await createApp(uniqueApp('sparkle-anon'));
    await publishMac(app, '1.0.0');
    await promoted(app, '1.0.0');
    const as = (ip: string) =>
      appcast(
        app,
        { version: '0.9.0' },
        { headers: { 'CF-Connecting-IP': ip, 'User-Agent': 'Demo/0.9.0 Sparkle/2.6.4' } },
      );
    const idOf = async (ip: string) => {
      const url = new URL((await as(ip)).items[0]?.enclosure.get('url') ?? '');
      return url.searchParams.get('client_id');
    };
    const first = await idOf('192.0.2.1');
    expect(first).toMatch(/^anon:[A-Za-z0-9_-]{22}$/);
    expect(await idOf('192.0.2.1')).toBe(first);
    expect(await idOf('192.0.2.2')).not.toBe(first);
  });

  it('answers an appcast with no item while the channel projection does not verify', async () => {
    const app = await createApp(uniqueApp('sparkle-unverified'));
    await publishMac(app, '1.0.0');
    await promoted(app, '1.0.0');
    const value = await env.STATE.get<{ snapshot: string }>(channelKey(app, 'stable'), 'json');
    if (!value) throw new Error('not projected');
    const [head, , signature] = value.snapshot.split('.');
    const forged = btoa(JSON.stringify({ forged: true })).replace(/=+$/, '');
    await env.STATE.put(
      channelKey(app, 'stable'),
      JSON.stringify({ ...value, snapshot: `${head}.${forged}.${signature}` }),
    );
    clearStateCache();
    const { response, items } = await appcast(app, { client_id: 'x', version: '0.9.0' });
    expect(items).toHaveLength(0);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
  });

  it('refuses bad input with 4xx, a code and a message, never a 5xx', async () => {
    const app = await createApp(uniqueApp('sparkle-bad'));
    await publishMac(app, '1.0.0');
    await promoted(app, '1.0.0');
    const cases: [string, number, string][] = [
      [`/v1/apps/${app}/sparkle/Not_A_Channel/appcast.xml`, 400, 'invalid_param'],
      [`/v1/apps/no-such-app-${randomHex(4)}/sparkle/stable/appcast.xml`, 404, 'unknown_app'],
      [`/v1/apps/${app}/sparkle/stable/appcast.xml?version=1.0`, 400, 'invalid_query'],
      [`/v1/apps/${app}/sparkle/stable/appcast.xml?version=1.0.0&version=1.0.1`, 400, 'invalid_query'],
      [`/v1/apps/${app}/sparkle/stable/appcast.xml?version=${'9'.repeat(70)}.0.0`, 400, 'invalid_query'],
      [`/v1/apps/${app}/sparkle/stable/appcast.xml?client_id=${'c'.repeat(129)}`, 400, 'invalid_client_id'],
      [`/v1/apps/${app}/sparkle/stable/appcast.xml?client_id=a%20b`, 400, 'invalid_client_id'],
      [`/v1/apps/${app}/sparkle/stable/appcast.xml?arch=ppc`, 400, 'invalid_query'],
      [`/v1/apps/${app}/sparkle/stable/appcast.xml?os_version=${'1'.repeat(40)}`, 400, 'invalid_query'],
      [`/v1/apps/${app}/sparkle/stable/feed.xml`, 404, 'not_found'],
    ];
    for (const [path, status, code] of cases) {
      const response = await call(path, { token: null });
      expect(response.status, path).toBe(status);
      const body = (await response.json()) as ErrorBody;
      expect(body.error.code, path).toBe(code);
      expect(body.error.message.length, path).toBeGreaterThan(0);
    }
    // A well-formed channel the app lacks is the app's default channel (docs/protocol.md §3), as for /check.
    expect((await itemOf(app, { client_id: 'z', version: '0.9.0' }))?.elements.get('sparkle:version')).toBe(
      '1.0.0',
    );
    const other = await appcast(app, { client_id: 'z', version: '0.9.0' }, { channel: 'nightly' });
    expect(other.items[0]?.elements.get('sparkle:version')).toBe('1.0.0');
  });
});
