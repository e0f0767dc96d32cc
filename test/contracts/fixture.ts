import { after, before } from 'node:test';
import type { CatalogueDb } from '../../src/catalogue/db.ts';

export interface CatalogueFixture {
  /** A migrated, empty catalogue database. */
  db: CatalogueDb;
  cleanup(): Promise<void>;
}

/** Inside a `describe`: open an empty database before its tests (handing it to `ready`), drop it after them. */
export function useCatalogueDb(open: () => Promise<CatalogueFixture>, ready: (db: CatalogueDb) => void): void {
  let fixture: CatalogueFixture | undefined;
  before(async () => {
    fixture = await open();
    ready(fixture.db);
  });
  after(async () => {
    await fixture?.db.destroy();
    await fixture?.cleanup();
  });
}
