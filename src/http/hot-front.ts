import http from 'node:http';
import type { Socket } from 'node:net';
import type { ConditionalHeaders } from './common.ts';
import { requestIdFor } from './operations.ts';

/** What the front writes for one request: the status line and the resource's headers, then the body (none for a 304). */
export interface FrontAnswer {
  /** `HTTP/1.1 200 OK\r\n` and `name: value\r\n` lines, without Date, Connection, Keep-Alive or X-Request-Id. */
  head: string;
  body: Buffer | undefined;
  /** Called once the answer is written, with `performance.now()` from when the request was recognised (metrics). */
  written(started: number): void;
}

/** Decides whether a plain GET of `target` is answered by the front (and with what), or left to Node's HTTP server. */
export type FrontResponder = (target: string, conditions: ConditionalHeaders) => FrontAnswer | undefined;

/**
 * A request the front takes: `GET <origin-form target> HTTP/1.1`, then header lines whose names are tokens and whose
 * values hold no control characters. Anything else (other methods, HTTP/1.0, absolute-form targets, bare LF, obs-fold,
 * a space before the colon) is left to Node's parser, which answers it (or refuses it) as it always does.
 */
const PLAIN_GET = /^GET (\/[!-~]*) HTTP\/1\.1((?:\r\n[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t -~\x80-\xff]*)*)$/;
const GET_PREFIX = Buffer.from('GET /', 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/** Past this many bytes of response waiting for a slow reader, stop reading its requests until it drains. */
const MAX_UNREAD_OUTPUT = 1024 * 1024;

const fieldValue = (line: string, colon: number) => line.slice(colon + 1).trim();

let dateSecond = -1;
let dateLine = '';
/** `Date: …\r\n`, formatted once per second (Node's own server caches it the same way). */
function dateHeader(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = `Date: ${new Date(second * 1000).toUTCString()}\r\n`;
  }
  return dateLine;
}

/**
 * The hot path's front door. Node's `http` stack (a parser callback, an IncomingMessage and a ServerResponse per
 * request, header objects, stream machinery) costs about as much CPU as everything else a hit does; nginx needs less
 * than half of it. For the one request shape that dominates a cover server, a browser or proxy asking `GET` for an
 * image URL that is already hot, this front reads the socket itself, recognises the request with one strict regular
 * expression, and writes the prepared response with a single `writev`.
 *
 * Every connection starts here. The first request the front does not answer itself (any method but GET, a URL not in
 * the hot table, a body, `Expect`, `Upgrade`, a missing or repeated Host, a header it does not parse strictly, an
 * over-long head) hands the connection to Node's HTTP server, bytes and all, exactly as if Node had accepted it: from
 * then on Node parses, answers, times out and closes it. Responses already written stay in order, because the front
 * answers synchronously and hands over before anything is read past the first request it does not take.
 *
 * The server keeps its usual lifecycle: `listen`, `close`, `closeIdleConnections` and `closeAllConnections` cover the
 * connections still held here.
 */
export class HotFront {
  readonly stats = { answered: 0, handedOff: 0, pausedForSlowReaders: 0, headTimeouts: 0 };
  private readonly server: http.Server;
  private readonly respond: FrontResponder;
  private readonly nodeConnectionListener: (socket: Socket) => void;
  private readonly held = new Set<Socket>();

  constructor(server: http.Server, respond: FrontResponder) {
    this.server = server;
    this.respond = respond;
    const [listener] = server.listeners('connection') as Array<(socket: Socket) => void>;
    if (!listener) throw new Error('the HTTP server has no connection listener to hand connections to');
    this.nodeConnectionListener = listener;
    server.removeListener('connection', listener);
    server.on('connection', (socket: Socket) => this.accept(socket));
    const closeIdle = server.closeIdleConnections.bind(server);
    server.closeIdleConnections = () => {
      closeIdle();
      // Between requests by construction (answers are written synchronously): let written bytes out, then close.
      for (const socket of this.held) socket.destroySoon();
    };
    const closeAll = server.closeAllConnections.bind(server);
    server.closeAllConnections = () => {
      closeAll();
      for (const socket of this.held) socket.destroy();
    };
  }

  private accept(socket: Socket): void {
    const held = this.held;
    held.add(socket);
    let pending: Buffer | undefined;
    let handedOff = false;
    let waitingForDrain = false;
    let clientEnded = false;
    const maxHead = (this.server as { maxHeaderSize?: number }).maxHeaderSize || http.maxHeaderSize;

    const handOff = (rest: Buffer | undefined) => {
      handedOff = true;
      this.stats.handedOff++;
      held.delete(socket);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('timeout', onTimeout);
      socket.removeListener('drain', onDrain);
      socket.removeListener('error', onError);
      socket.setTimeout(0);
      socket.pause();
      if (rest && rest.length > 0) socket.unshift(rest);
      this.nodeConnectionListener.call(this.server, socket);
      // The unshifted bytes are delivered to Node's parser on the next tick, before anything read later.
      socket.resume();
    };

    /** Answer every complete request in `buffer`; keep a partial one; hand off at the first one not answered here. */
    const work = (buffer: Buffer) => {
      let offset = 0;
      while (offset < buffer.length) {
        if (socket.writableLength > MAX_UNREAD_OUTPUT) {
          // A client pipelining faster than it reads: wait for it (Node's server pauses the same way).
          pending = buffer.subarray(offset);
          this.stats.pausedForSlowReaders++;
          waitingForDrain = true;
          socket.pause();
          return;
        }
        const prefix = Math.min(GET_PREFIX.length, buffer.length - offset);
        if (buffer.compare(GET_PREFIX, 0, prefix, offset, offset + prefix) !== 0) return handOff(buffer.subarray(offset));
        const end = buffer.indexOf(HEAD_END, offset);
        if (end === -1) {
          if (buffer.length - offset > maxHead) return handOff(buffer.subarray(offset));
          pending = buffer.subarray(offset);
          return;
        }
        if (end - offset > maxHead) return handOff(buffer.subarray(offset));
        const outcome = this.answer(socket, buffer.toString('latin1', offset, end));
        if (outcome === 'not-mine') return handOff(buffer.subarray(offset));
        this.stats.answered++;
        offset = end + HEAD_END.length;
        if (outcome === 'close') {
          pending = undefined;
          socket.removeListener('data', onData);
          socket.end();
          return;
        }
      }
      pending = undefined;
    };

    let headStarted = 0;
    const onData = (chunk: Buffer) => {
      if (handedOff) return;
      if (!pending) {
        headStarted = Date.now();
        return work(chunk);
      }
      // A head trickling in byte by byte gets the time Node's server gives it (headersTimeout), no more.
      if (Date.now() - headStarted > this.server.headersTimeout) {
        this.stats.headTimeouts++;
        pending = undefined;
        socket.removeListener('data', onData);
        socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', 'latin1');
        return;
      }
      work(Buffer.concat([pending, chunk]));
    };
    const onDrain = () => {
      if (handedOff || !waitingForDrain || socket.writableLength > MAX_UNREAD_OUTPUT) return;
      waitingForDrain = false;
      const buffer = pending!;
      pending = undefined;
      socket.resume();
      work(buffer);
      if (clientEnded && !waitingForDrain && !handedOff) socket.end();
    };
    // The client is done sending: answer what it sent in full, then close; half a request never will be one.
    const onEnd = () => {
      clientEnded = true;
      if (!waitingForDrain) socket.end();
    };
    const onTimeout = () => socket.destroy();
    const onError = () => socket.destroy();
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('drain', onDrain);
    socket.on('error', onError);
    socket.on('timeout', onTimeout);
    socket.once('close', () => held.delete(socket));
    socket.setTimeout(this.server.keepAliveTimeout || 5000);
  }

  /** Write the answer to one request head (without its final blank line), or say it is Node's to answer. */
  private answer(socket: Socket, head: string): 'kept' | 'close' | 'not-mine' {
    const started = performance.now();
    const match = PLAIN_GET.exec(head);
    if (!match) return 'not-mine';
    let hosts = 0;
    let close = false;
    let requestId: string | undefined;
    const conditions: ConditionalHeaders = {};
    const lines = match[2]!;
    if (lines.length > 0) {
      for (const line of lines.slice(2).split('\r\n')) {
        const colon = line.indexOf(':');
        // Most headers (User-Agent, Accept, …) only need their name looked at; values are cut out where used.
        const name = line.slice(0, colon).toLowerCase();
        switch (name) {
          case 'host':
            hosts++;
            break;
          case 'connection': {
            const tokens = fieldValue(line, colon).toLowerCase().split(',').map((token) => token.trim());
            if (tokens.includes('upgrade')) return 'not-mine';
            if (tokens.includes('close')) close = true;
            break;
          }
          case 'if-none-match':
          case 'if-modified-since':
            if (conditions[name] !== undefined) return 'not-mine';
            conditions[name] = fieldValue(line, colon);
            break;
          case 'x-request-id':
            if (requestId !== undefined) return 'not-mine';
            requestId = fieldValue(line, colon);
            break;
          case 'content-length':
          case 'transfer-encoding':
          case 'expect':
          case 'upgrade':
            return 'not-mine';
        }
      }
    }
    // HTTP/1.1 requires exactly one Host; Node's server refuses the rest with 400, so it gets to see them.
    if (hosts !== 1) return 'not-mine';
    const answer = this.respond(match[1]!, conditions);
    if (!answer) return 'not-mine';
    const id = requestIdFor(requestId);
    const connection = close
      ? 'Connection: close\r\n'
      : `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor((this.server.keepAliveTimeout || 5000) / 1000)}\r\n`;
    const head2 = `${answer.head}x-request-id: ${id}\r\n${dateHeader()}${connection}\r\n`;
    if (answer.body) {
      socket.cork();
      socket.write(head2, 'latin1');
      socket.write(answer.body);
      socket.uncork();
    } else {
      socket.write(head2, 'latin1');
    }
    answer.written(started);
    return close ? 'close' : 'kept';
  }
}
