import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { ENCODER_TIERS, encoderSettings } from '../src/images/encoding.ts';
import { renderRendition } from '../src/images/render.ts';
import { fitLongestSide, openLibrarySize, type Dimensions } from '../src/images/sizes.ts';
import { makeImage } from './helpers/images.ts';

test('every rendition size falls in the tier its settings were chosen for', () => {
  const tierOf = (target: Dimensions) => ENCODER_TIERS.findIndex((tier) => tier.settings === encoderSettings(target));
  assert.equal(tierOf(openLibrarySize(1200, 1800, 'S')), 0);
  assert.equal(tierOf(openLibrarySize(1200, 1800, 'M')), 1);
  assert.equal(tierOf(fitLongestSide(1200, 1800, 250)), 1);
  assert.equal(tierOf(openLibrarySize(1200, 1800, 'L')), 2);
  assert.equal(tierOf(fitLongestSide(1800, 1200, 500)), 2);
  assert.equal(tierOf(fitLongestSide(2400, 3600, 1200)), 3);
  // The tiers' limits rise, so `find` picks the smallest that fits.
  for (let i = 1; i < ENCODER_TIERS.length; i++) assert.ok(ENCODER_TIERS[i]!.upTo > ENCODER_TIERS[i - 1]!.upTo);
});

test('S JPEGs keep full-resolution chroma, M is 4:2:0, L is progressive', async () => {
  const original = await makeImage(1200, 1800, { color: '#a03c28' });
  const meta = async (name: 'S' | 'M' | 'L') => sharp(await renderRendition(original, openLibrarySize(1200, 1800, name), 'jpeg')).metadata();
  const [small, medium, large] = await Promise.all([meta('S'), meta('M'), meta('L')]);
  assert.equal(small.chromaSubsampling, '4:4:4');
  assert.equal(small.isProgressive, false);
  assert.equal(medium.chromaSubsampling, '4:2:0');
  assert.equal(large.isProgressive, true);
  assert.deepEqual([large.width, large.height], [333, 500]);
});

test('WebP and AVIF renditions are made at every tier', async () => {
  const original = await makeImage(2400, 3600, { color: '#2d6a4f' });
  for (const target of [openLibrarySize(2400, 3600, 'S'), openLibrarySize(2400, 3600, 'L'), fitLongestSide(2400, 3600, 1200)]) {
    for (const format of ['webp', 'avif'] as const) {
      const info = await sharp(await renderRendition(original, target, format)).metadata();
      assert.equal(info.format, format === 'avif' ? 'heif' : 'webp');
      assert.deepEqual([info.width, info.height], [target.width, target.height]);
    }
  }
});
