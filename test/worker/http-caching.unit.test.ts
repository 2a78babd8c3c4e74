import { describe, expect, it } from 'vitest';
import { etagMatches, parseRange, resolveRange } from '../../src/worker/http/caching.ts';

describe('parseRange', () => {
  it.each([
    ['bytes=0-99', { start: 0, end: 99 }],
    ['bytes=100-', { start: 100 }],
    ['bytes=-20', { suffix: 20 }],
    ['BYTES = 5 - 9', { start: 5, end: 9 }],
    ['bytes=0-1, 4-5', 'multiple'],
    [undefined, undefined],
    ['', undefined],
    ['bytes=9-5', undefined],
    ['bytes=-', undefined],
    ['bytes=a-b', undefined],
    ['items=0-1', undefined],
    ['items=0-1,2-3', undefined],
    ['bytes=1234567890123456-', undefined],
  ])('reads %j as %j', (header, expected) => {
    expect(parseRange(header)).toEqual(expected);
  });
});

describe('resolveRange', () => {
  it.each([
    [{ start: 0, end: 9 }, 100, { offset: 0, length: 10 }],
    [{ start: 90, end: 500 }, 100, { offset: 90, length: 10 }],
    [{ start: 99 }, 100, { offset: 99, length: 1 }],
    [{ start: 100 }, 100, null],
    [{ suffix: 10 }, 100, { offset: 90, length: 10 }],
    [{ suffix: 1000 }, 100, { offset: 0, length: 100 }],
    [{ suffix: 0 }, 100, null],
    [{ suffix: 5 }, 0, null],
    [{ start: 0 }, 0, null],
  ])('resolves %j against %i bytes as %j', (spec, size, expected) => {
    expect(resolveRange(spec, size)).toEqual(expected);
  });
});

describe('etagMatches', () => {
  it.each([
    [undefined, false],
    ['"abc"', true],
    ['W/"abc"', true],
    ['"x", "abc"', true],
    ['*', true],
    ['"abcd"', false],
    ['abc', false],
  ])('If-None-Match %j against "abc" is %s', (header, expected) => {
    expect(etagMatches(header, '"abc"')).toBe(expected);
  });
});
