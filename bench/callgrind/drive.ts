// `drive.ts URL N C`: N keep-alive GETs of URL over C connections, one at a time per connection; fails on a non-200.
import { LeanClient } from '../lean-client.ts';

const [url, count, connections] = process.argv.slice(2);
const { origin, pathname } = new URL(url!);
const clients = await Promise.all(Array.from({ length: Number(connections) }, () => LeanClient.open(origin)));
let left = Number(count);
await Promise.all(
  clients.map(async (client) => {
    while (left > 0) {
      left--;
      const { status } = await client.get(pathname);
      if (status !== 200) throw new Error(`${pathname} answered ${status}`);
    }
    client.close();
  }),
);
