/**
 * The RSS 2.0 appcast Sparkle 2 reads (SUAppcast.m, SUAppcastItem.m): one `<channel>` whose only
 * `<item>` is the server's decision, or no item at all. Sparkle looks up its own elements by the
 * namespace URI, not the prefix, and this module writes exactly the elements it parses:
 * `sparkle:version`, `sparkle:shortVersionString`, `sparkle:minimumSystemVersion`,
 * `sparkle:criticalUpdate`, `description` with `sparkle:format`, and an `enclosure` with `url`,
 * `length`, `type` and `sparkle:edSignature`. It never writes `sparkle:channel` (Sparkle drops items
 * of channels the app does not allow) nor `sparkle:phasedRolloutInterval` (the server has already
 * applied the rollout; Sparkle's own phasing would delay the bucket a second time).
 */
import { minimumSystemVersionOf, sparkleVersionOf } from '../../protocol/sparkle.ts';

/** The namespace URI Sparkle matches exactly (http, not https). */
export const SPARKLE_NS = 'http://www.andymatuschak.org/xml-namespaces/sparkle';

/** What one appcast item says: the offered release, for the artifact this client gets. */
export interface AppcastItem {
  app: string;
  version: string;
  publishedAt: string;
  notes: string;
  mandatory: boolean;
  /** The artifact's `os` range, if any. */
  os: string | undefined;
  url: string;
  length: number;
  edSignature: string;
}

/** The appcast document: `item` undefined when nothing is offered. */
export function renderAppcast(feed: { app: string; link: string; item: AppcastItem | undefined }): string {
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<rss version="2.0" xmlns:sparkle="${SPARKLE_NS}">`,
    '  <channel>',
    `    <title>${text(feed.app)}</title>`,
    `    <link>${text(feed.link)}</link>`,
    `    <description>${text(`Updates of ${feed.app}, served by Updraft`)}</description>`,
  ];
  if (feed.item) lines.push(...renderItem(feed.item));
  lines.push('  </channel>', '</rss>', '');
  return lines.join('\n');
}

function renderItem(item: AppcastItem): string[] {
  const minimumSystem = minimumSystemVersionOf(item.os);
  return [
    '    <item>',
    `      <title>${text(`${item.app} ${item.version}`)}</title>`,
    `      <pubDate>${rfc822(item.publishedAt)}</pubDate>`,
    `      <sparkle:version>${text(sparkleVersionOf(item.version))}</sparkle:version>`,
    `      <sparkle:shortVersionString>${text(item.version)}</sparkle:shortVersionString>`,
    ...(minimumSystem === undefined
      ? []
      : [`      <sparkle:minimumSystemVersion>${minimumSystem}</sparkle:minimumSystemVersion>`]),
    ...(item.mandatory ? ['      <sparkle:criticalUpdate/>'] : []),
    `      <description sparkle:format="html">${cdata(notesHtml(item.notes))}</description>`,
    `      <enclosure url="${attribute(item.url)}" length="${item.length}" type="application/octet-stream" sparkle:edSignature="${attribute(item.edSignature)}"/>`,
    '    </item>',
  ];
}

/**
 * The release notes as HTML, the one format every Sparkle 2 release renders (`sparkle:format`
 * `plain-text` and `markdown` came later). Updraft's notes are text, so they are HTML-escaped and
 * shown with their line breaks, never interpreted as markup.
 */
function notesHtml(notes: string): string {
  const escaped = notes.replace(/[&<>"]/g, (c) => ESCAPES[c] ?? c);
  return `<div style="white-space: pre-wrap">${escaped}</div>`;
}

/** The same four escapes serve HTML text and XML text and attributes. */
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/**
 * Characters XML 1.0 forbids everywhere, CDATA included (C0 controls but tab, CR and LF; U+FFFE,
 * U+FFFF; lone surrogates): a signed manifest may hold them, and one of them would make Sparkle
 * reject the whole feed. Each becomes U+FFFD.
 */
const NOT_XML =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding the controls XML forbids is the point.
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function xmlSafe(value: string): string {
  return value.replace(NOT_XML, '\uFFFD');
}

/** Character data in an element. */
function text(value: string): string {
  return xmlSafe(value).replace(/[&<>]/g, (c) => ESCAPES[c] ?? c);
}

/** A double-quoted attribute value. */
function attribute(value: string): string {
  return xmlSafe(value).replace(/[&<>"]/g, (c) => ESCAPES[c] ?? c);
}

/** A CDATA section holding `value`, whose own `]]>` is split across two sections. */
function cdata(value: string): string {
  return `<![CDATA[${xmlSafe(value).replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * RFC 822 as Sparkle's date formatter reads it (`E, dd MMM yyyy HH:mm:ss Z`, en_US):
 * `Fri, 20 Nov 2026 12:00:00 +0000`.
 */
export function rfc822(timestamp: string): string {
  const d = new Date(timestamp);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}
