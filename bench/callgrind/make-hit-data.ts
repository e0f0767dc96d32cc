// A data folder with one cover (id 1, ISBN 0385472579), written through the real ingest path: `make-hit-data.ts DIR`.
import sharp from 'sharp';
import { createServices } from '../../src/services.ts';
import { loadConfig } from '../../src/config.ts';
import { normaliseIdentifier } from '../../src/identifiers/index.ts';

const dir = process.argv[2]!;
const image = await sharp({ create: { width: 1200, height: 1800, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 30 } } })
  .jpeg({ quality: 80 })
  .toBuffer();
const services = await createServices(loadConfig({ JACKET_DATA_DIR: dir, JACKET_ADMIN_TOKEN: 'bench-admin-token', LOG_LEVEL: 'silent' }));
await services.ingest.addCover({ category: 'b', olid: 'OL1M', bytes: image, identifiers: [{ scheme: 'isbn', value: normaliseIdentifier('isbn', '0385472579')! }] });
await services.close();
