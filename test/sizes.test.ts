import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitLongestSide, fitOpenLibrary, openLibrarySize } from '../src/images/sizes.ts';

// The spec's reference table: original → S, M, L.
const TABLE: Array<[[number, number], [number, number], [number, number], [number, number]]> = [
  [[1000, 1500], [38, 58], [180, 270], [333, 500]],
  [[1500, 1000], [87, 58], [180, 120], [500, 333]],
  [[1200, 1920], [36, 58], [180, 288], [312, 500]],
  [[2000, 2000], [58, 58], [180, 180], [500, 500]],
  [[180, 270], [38, 58], [180, 270], [180, 270]],
  [[100, 200], [29, 58], [100, 200], [100, 200]],
  [[50, 50], [50, 50], [50, 50], [50, 50]],
  [[3000, 100], [116, 3], [180, 6], [500, 16]],
];

for (const [[w, h], s, m, l] of TABLE) {
  test(`Open Library sizes of ${w}×${h}`, () => {
    assert.deepEqual(openLibrarySize(w, h, 'S'), { width: s[0], height: s[1] });
    assert.deepEqual(openLibrarySize(w, h, 'M'), { width: m[0], height: m[1] });
    assert.deepEqual(openLibrarySize(w, h, 'L'), { width: l[0], height: l[1] });
  });
}

test('the two-step fit never returns a zero side', () => {
  assert.deepEqual(fitOpenLibrary(100000, 1, 116, 58), { width: 116, height: 1 });
  assert.deepEqual(fitOpenLibrary(1, 100000, 116, 58), { width: 1, height: 58 });
});

test('longest-side thumbnails never enlarge', () => {
  assert.deepEqual(fitLongestSide(1200, 1800, 500), { width: 333, height: 500 });
  assert.deepEqual(fitLongestSide(1800, 1200, 250), { width: 250, height: 167 });
  assert.deepEqual(fitLongestSide(200, 100, 1200), { width: 200, height: 100 });
  assert.deepEqual(fitLongestSide(5000, 1, 75), { width: 75, height: 1 });
});
