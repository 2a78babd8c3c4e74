/**
 * docs/protocol.md, the contract in the repository, kept true in what a test can check: its bucket
 * test vectors are what `bucket()` computes, every "docs/protocol.md §n" a comment in src/, scripts/,
 * bench/ or test/ cites names a section the file has (and none cites the design document outside the
 * repository instead), and its relative links lead to files that exist.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bucket } from '../../src/protocol/bucket.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOC_PATH = join(ROOT, 'docs', 'protocol.md');
const doc = readFileSync(DOC_PATH, 'utf8');

/** The numbered sections (`## 3. Channels, …`) and the text of each, by number. */
function sections(markdown: string): Map<number, string> {
  const found = new Map<number, string>();
  const parts = markdown.split(/^(?=## )/m);
  for (const part of parts) {
    const heading = /^## (\d+)\. \S/.exec(part);
    if (heading) found.set(Number(heading[1]), part);
  }
  return found;
}

/** Rows `| \`salt\` | \`client_id\` | bucket |` of the test vector table. */
function bucketVectors(text: string): { salt: string; clientId: string; expected: number }[] {
  return [...text.matchAll(/^\| `([^`]*)` \| `([^`]*)` \| (\d+) \|$/gm)].map((m) => ({
    salt: m[1] ?? '',
    clientId: m[2] ?? '',
    expected: Number(m[3]),
  }));
}

const SOURCE_EXTENSIONS = /\.(ts|tsx|js|mjs|css|html|sql)$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
    return SOURCE_EXTENSIONS.test(name) ? [path] : [];
  });
}

/**
 * Every section number a "docs/protocol.md §n" (also "docs/protocol.md §2, §6" and "… §5 and §6")
 * cites, with where.
 */
function protocolCitations(files: string[]): { file: string; section: number }[] {
  return files.flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(/protocol\.md §\s?\d+(?:(?:, | and )§\s?\d+)*/g)].flatMap((m) =>
      [...m[0].matchAll(/§\s?(\d+)/g)].map((n) => ({ file: relative(ROOT, file), section: Number(n[1]) })),
    );
  });
}

/** GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

describe('docs/protocol.md', () => {
  const numbered = sections(doc);

  it('has the sections of DESIGN.md, numbered 1 to 11 in order', () => {
    expect([...numbered.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('lists bucket test vectors in §3 that bucket() computes', async () => {
    const vectors = bucketVectors(numbered.get(3) ?? '');
    expect(vectors.length).toBeGreaterThanOrEqual(3);
    const line = (salt: string, clientId: string, n: number) => `bucket("${salt}", "${clientId}") = ${n}`;
    const computed = await Promise.all(
      vectors.map(async (v) => line(v.salt, v.clientId, await bucket(v.salt, v.clientId))),
    );
    expect(computed).toEqual(vectors.map((v) => line(v.salt, v.clientId, v.expected)));
  });

  const cited = () => [
    ...sourceFiles(join(ROOT, 'src')),
    ...sourceFiles(join(ROOT, 'scripts')),
    ...sourceFiles(join(ROOT, 'bench')),
    ...sourceFiles(join(ROOT, 'test')),
  ];

  it('has a section for every "docs/protocol.md §n" cited in src/, scripts/, bench/ and test/', () => {
    const citations = protocolCitations(cited());
    // Far fewer would mean the pattern no longer finds the comments, not that they are gone.
    expect(citations.length).toBeGreaterThan(150);
    const missing = citations.filter(({ section }) => !numbered.has(section));
    expect(missing).toEqual([]);
  });

  it('is what the code cites, not the design document outside the repository', () => {
    const outside = cited().filter((file) => /DESIGN(?:\.md)? §/.test(readFileSync(file, 'utf8')));
    expect(outside.map((file) => relative(ROOT, file))).toEqual([]);
  });

  it('links only to files that exist and to headings it has', () => {
    const headings = new Set([...doc.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1] ?? '')));
    const targets = [...doc.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '');
    expect(targets.length).toBeGreaterThan(10);
    const broken = targets.filter((target) => {
      if (/^[a-z]+:/.test(target)) return false;
      const [path = '', hash] = target.split('#');
      if (path === '') return !headings.has(hash ?? '');
      return !existsSync(join(dirname(DOC_PATH), path));
    });
    expect(broken).toEqual([]);
  });

  it('is linked from the other docs by headings it has', () => {
    const headings = new Set([...doc.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1] ?? '')));
    const docs = [
      ...readdirSync(join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.md'))
        .map((name) => join(ROOT, 'docs', name)),
      join(ROOT, 'README.md'),
      join(ROOT, 'BENCHMARKS.md'),
    ];
    const links = docs.flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/\]\(((?:\.\.\/|docs\/)?protocol\.md)#([^)\s]+)\)/g)].map(
        (m) => ({
          file: relative(ROOT, file),
          anchor: m[2] ?? '',
        }),
      ),
    );
    // The docs cite the protocol's sections some ninety times: far fewer means the pattern broke.
    expect(links.length).toBeGreaterThan(50);
    expect(links.filter((link) => !headings.has(link.anchor))).toEqual([]);
  });
});
