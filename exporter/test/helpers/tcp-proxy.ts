/**
 * A TCP proxy between the exporter and Postgres (loopback) that can cut a
 * connection at the worst moment for a writer: right after Postgres has
 * committed a statement, before its answer reaches the client. It reads
 * just enough of the Postgres wire protocol for that: the client's messages
 * are searched for a statement's text; then the server's answer is held back
 * until its ReadyForQuery ('Z', length 5, status byte), which Postgres sends
 * only after the implicit transaction of the statement has committed, and the
 * connection is destroyed instead of delivering it.
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Postgres URL through the proxy. */
  url: string;
  /** The next `times` connections that send a statement holding `text` are cut once its commit is done. */
  cutAfterCommit(text: string, times?: number): void;
  /** How many cuts were made. */
  cuts(): number;
  close(): Promise<void>;
}

const READY_FOR_QUERY = Buffer.from([0x5a, 0, 0, 0, 5]);

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<net.Socket>();
  let armed: { text: Buffer; left: number } | null = null;
  let cuts = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    let holding: Buffer[] | null = null;
    const cut = () => {
      cuts++;
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk) => {
      if (armed && armed.left > 0 && holding === null && chunk.includes(armed.text)) {
        armed.left--;
        holding = [];
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (holding === null) return void client.write(chunk);
      holding.push(chunk);
      const all = Buffer.concat(holding);
      const z = all.length - 6;
      if (z >= 0 && all.subarray(z, z + 5).equals(READY_FOR_QUERY)) cut();
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    port,
    url: url.toString(),
    cutAfterCommit(text, times = 1) {
      armed = { text: Buffer.from(text), left: times };
    },
    cuts: () => cuts,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
