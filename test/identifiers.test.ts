import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isbn10To13,
  isbn13To10,
  normaliseIdentifier,
  normaliseIsbn,
  parseCoverId,
  parseMbid,
  parseOlid,
} from '../src/identifiers/index.ts';

test('ISBN-10 and ISBN-13 of the same book normalise to one key, hyphens and spaces ignored', () => {
  assert.equal(normaliseIsbn('0385472579'), '9780385472579');
  assert.equal(normaliseIsbn('0-385-47257-9'), '9780385472579');
  assert.equal(normaliseIsbn('978-0-385-47257-9'), '9780385472579');
  assert.equal(normaliseIsbn(' 978 0385472579 '), '9780385472579');
});

test('a trailing x is accepted in either case', () => {
  assert.equal(normaliseIsbn('080442957x'), '9780804429573');
  assert.equal(normaliseIsbn('080442957X'), '9780804429573');
});

test('ISBN conversions both ways, and 979 ISBNs have no ISBN-10', () => {
  assert.equal(isbn10To13('0545010225'), '9780545010221');
  assert.equal(isbn13To10('9780545010221'), '0545010225');
  assert.equal(isbn13To10('9791032305690'), undefined);
});

test('ISBN-shaped strings with a bad check digit are kept as cleaned; garbage is refused', () => {
  assert.equal(normaliseIsbn('0385472578'), '0385472578');
  assert.equal(normaliseIsbn('abc'), undefined);
  assert.equal(normaliseIsbn('12345'), undefined);
  assert.equal(normaliseIsbn('../../etc/passwd'), undefined);
});

test('OLIDs: kind from the suffix, canonical upper case', () => {
  assert.deepEqual(parseOlid('ol123m'), { olid: 'OL123M', kind: 'edition' });
  assert.deepEqual(parseOlid('OL45W'), { olid: 'OL45W', kind: 'work' });
  assert.deepEqual(parseOlid('OL7A'), { olid: 'OL7A', kind: 'author' });
  assert.equal(parseOlid('OL0M'), undefined);
  assert.equal(parseOlid('OL12X'), undefined);
  assert.equal(parseOlid('12M'), undefined);
});

test('other edition identifiers', () => {
  assert.equal(normaliseIdentifier('oclc', 'ocm00012345'), '12345');
  assert.equal(normaliseIdentifier('oclc', '(OCoLC)987'), '987');
  assert.equal(normaliseIdentifier('lccn', '85-2'), '85000002');
  assert.equal(normaliseIdentifier('lccn', 'n78-890351'), 'n78890351');
  assert.equal(normaliseIdentifier('lccn', '2001000002'), '2001000002');
  assert.equal(normaliseIdentifier('goodreads', '00042'), '42');
  assert.equal(normaliseIdentifier('librarything', 'x1'), undefined);
});

test('cover ids and MBIDs', () => {
  assert.equal(parseCoverId('42'), 42);
  assert.equal(parseCoverId('0'), undefined);
  assert.equal(parseCoverId('-1'), undefined);
  assert.equal(parseCoverId('1e5'), undefined);
  assert.equal(parseCoverId('99999999999999999999'), undefined);
  assert.equal(parseMbid('76DF3287-6CDA-33EB-8E9A-044B5E15FFDD'), '76df3287-6cda-33eb-8e9a-044b5e15ffdd');
  assert.equal(parseMbid('76df3287-6cda-33eb-8e9a-044b5e15ffdd\n'), undefined);
  assert.equal(parseMbid('x76df3287-6cda-33eb-8e9a-044b5e15ffdd'), undefined);
});
