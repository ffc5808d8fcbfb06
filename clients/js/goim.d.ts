// Type declarations for goim-edge-client (goim.js).

/** Operations of goim v2 and goim-edge's room and recovery extensions. */
export declare const OP: Readonly<{
  HEARTBEAT: 2; HEARTBEAT_REPLY: 3; SEND: 4; AUTH: 7; AUTH_REPLY: 8; RAW: 9;
  CHANGE_ROOM: 12; CHANGE_ROOM_REPLY: 13; SUB: 14; SUB_REPLY: 15; UNSUB: 16; UNSUB_REPLY: 17;
  JOIN_ROOM: 22; JOIN_ROOM_REPLY: 23; LEAVE_ROOM: 24; LEAVE_ROOM_REPLY: 25;
  RESUME: 26; RESUME_REPLY: 27; POSITIONED: 28; ACK: 29; ACK_REPLY: 30;
}>;
/** Stream name prefixes: "user:<mid>", "room:<type>://<id>". */
export declare const USER_STREAM: 'user:';
export declare const ROOM_STREAM: 'room:';

/** A place in a stream; persist positions() and pass them back as the positions option. */
export interface StreamPos {
  stream: string;
  epoch?: string;
  offset?: number;
}

/** One stream's outcome of a resume (op 27). */
export interface StreamVerdict {
  stream: string;
  /** Where the device now stands: live messages continue after offset. */
  epoch?: string;
  offset?: number;
  /** true: nothing after the position was missed. */
  recovered: boolean;
  reason?: 'gap' | 'epoch' | 'limit' | 'no_history' | 'not_followed' | 'unavailable';
  count?: number;
}

export interface ResumedEvent {
  streams: StreamVerdict[];
  url: string | null;
}

export interface RecoveryStats {
  /** Positioned pushes delivered. */
  positioned: number;
  /** Positioned pushes dropped: already delivered (same epoch, offset not beyond). */
  duplicates: number;
  /** Acks the server answered. */
  acks: number;
}
export declare const HEADER_LEN: 16;
/** Largest body a client may send; bigger requests reject with code 'too_large'. */
export declare const MAX_BODY: 4096;
export declare const CLOSE: Readonly<{ NORMAL: 1000; GOING_AWAY: 1001; TRY_AGAIN_LATER: 1013; HEARTBEAT_TIMEOUT: 4000 }>;

export interface BackoffOptions {
  /** First retry waits uniform [0, baseMs); default 2000. */
  baseMs?: number;
  /** Upper bound of any wait; default 60000. */
  maxMs?: number;
  /** Growth per attempt; default 2. */
  factor?: number;
  /** A connection up this long resets the attempt count; default 10000. */
  stableMs?: number;
  /** Give up (state 'closed') after this many waits; default Infinity. */
  maxAttempts?: number;
}

/** goim's JSON token fields. */
export interface TokenFields {
  /** User id: number, bigint or decimal string; written as a JSON number. */
  mid?: number | bigint | string;
  /** Connection key; empty lets the server make one (not sent back to the device). */
  key?: string;
  /** Primary room, "type://id". */
  room_id?: string;
  /** goim-edge extension: further rooms. */
  rooms?: string[];
  platform?: string;
  /** Ops accepted from key, mid and broadcast pushes. */
  accepts?: Array<number | string>;
}

export type Token = string | Uint8Array | TokenFields;

export interface ClientOptions {
  /** A WebSocket URL, e.g. "ws://host:3102/sub". */
  url?: string;
  /** Several URLs tried in order (after the node list, if any). */
  urls?: string[];
  /** logic's GET /goim/nodes/weighted URL; its nodes are tried first. */
  nodesURL?: string;
  /** Node list platform; default "web" (host names). */
  platform?: string;
  /** wss for node list entries; default: the page is https. */
  secure?: boolean;
  /** WebSocket path on node list entries; default "/sub". */
  path?: string;
  /** The auth body, or a function called before every connection (fresh JWTs). */
  token: Token | (() => Token | Promise<Token>);
  /** Heartbeat interval; default 30000 (goim's). A missed reply reconnects. */
  heartbeatMs?: number;
  /** Request (send, rooms, sub) timeout; default 10000. */
  requestTimeoutMs?: number;
  /** Time to open and authenticate; default 10000. */
  connectTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Stop (state 'refused') when the server refuses the token; default true. */
  stopOnRefused?: boolean;
  /** Recovery extension: send op 26 with the held positions right before every auth; default false. */
  resume?: boolean;
  /** Positions to resume from (a previous run's positions()). */
  positions?: StreamPos[];
  /** Streams to recover while no position is held (everything the server keeps), e.g. "room:live://1000". */
  streams?: string[];
  /** The user id whose stream ("user:<mid>") is acked; default: the token's mid. */
  mid?: number | bigint | string;
  /** Acknowledge the user stream (op 29) after the message listeners returned; default false. */
  autoAck?: boolean;
  /** Longest an ack waits after the first unacked message; default 1000. */
  ackIntervalMs?: number;
  /** Ack at once after this many messages; default 100. */
  ackEvery?: number;
  onMessage?: (m: Message) => void;
}

export type State = 'idle' | 'connecting' | 'authenticating' | 'ready' | 'waiting' | 'refused' | 'closed';

export interface StateEvent {
  state: State;
  prev: State;
  url: string | null;
  attempt: number;
  /** Set with 'waiting': the delay before the next attempt. */
  delayMs?: number;
  /** The close code that led here, if any. */
  code?: number;
  reason?: string;
}

/** One frame from the server. */
export declare class Message {
  ver: number;
  op: number;
  seq: number;
  body: Uint8Array;
  /** ms since the epoch when it was received. */
  receivedAt: number;
  /** Positioned push (op 28): its stream; '' for plain pushes. */
  stream: string;
  /** The stream's epoch; '' for plain pushes. */
  epoch: string;
  /** The offset in the stream; 0 for plain pushes. */
  offset: number;
  text(): string;
  json(): unknown;
}

export type GoimErrorCode = 'timeout' | 'refused' | 'closed' | 'not_ready' | 'too_large';

export declare class GoimError extends Error {
  code: GoimErrorCode;
}

export type Body = string | Uint8Array | ArrayBuffer | ArrayBufferView | null | undefined;

export declare class GoimClient {
  /** Throws TypeError without a token or an address, RangeError for a heartbeat under 1 s or a backoff that never waits. */
  constructor(opts: ClientOptions);
  readonly state: State;
  /** Room online count from the last heartbeat reply. */
  readonly online: number | null;
  /** URL of the current (or last) connection. */
  readonly url: string | null;
  readonly attempt: number;
  /** When the next attempt starts (ms since epoch) while 'waiting'. */
  readonly nextAttemptAt: number;
  on(event: 'message', fn: (m: Message) => void): () => void;
  on(event: 'state', fn: (e: StateEvent) => void): () => void;
  on(event: 'online', fn: (n: number) => void): () => void;
  on(event: 'error', fn: (e: Error) => void): () => void;
  /** Verdicts of a resume, after the recovered messages and before live ones. */
  on(event: 'resumed', fn: (e: ResumedEvent) => void): () => void;
  /** Start connecting (again after 'closed' or 'refused'). */
  connect(): void;
  /** Close and stop reconnecting; pending requests reject with 'closed'. */
  close(): void;
  /** Upstream message (op 4 by default); resolves on the edge's reply. */
  send(body: Body, op?: number): Promise<Message>;
  /** Op 12: leave every room, join room ("" leaves all). */
  changeRoom(room: string): Promise<string>;
  /** Op 22: join room too. */
  joinRoom(room: string): Promise<string>;
  /** Op 24: leave room. */
  leaveRoom(room: string): Promise<string>;
  /** Op 14: accept these ops. */
  sub(ops: Array<number | string> | string): Promise<string[]>;
  /** Op 16: stop accepting these ops. */
  unsub(ops: Array<number | string> | string): Promise<string[]>;
  /** Last position delivered per stream, by stream name. */
  positions(): Array<Required<StreamPos>>;
  stats(): RecoveryStats;
  /** Op 29: acknowledge the user stream up to offset; resolves on op 30. */
  ack(epoch: string, offset: number): Promise<void>;
  /** Op 26 now (retry 'unavailable' streams); false when not connected. */
  resume(): boolean;
}

export declare function encodeFrame(op: number, seq: number, body?: Body, ver?: number): Uint8Array;
export declare function decodeFrames(data: ArrayBuffer | Uint8Array): { frames: Message[]; bad: boolean };
export declare function goimToken(t: TokenFields): string;
/** Decode an op-28 body; null when malformed. */
export declare function parsePositioned(b: Uint8Array): { op: number; offset: number; stream: string; epoch: string; body: Uint8Array } | null;
export declare function backoffDelay(attempt: number, b: { baseMs: number; maxMs: number; factor: number }, random?: () => number): number;
export declare const DEFAULTS: Readonly<{
  heartbeatMs: number; requestTimeoutMs: number; connectTimeoutMs: number; platform: string; path: string;
  backoff: Readonly<Required<BackoffOptions>>; stopOnRefused: boolean;
  resume: boolean; autoAck: boolean; ackIntervalMs: number; ackEvery: number;
}>;
