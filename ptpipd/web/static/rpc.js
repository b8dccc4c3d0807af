// JSON-RPC 2.0 over the daemon's WebSocket (/rpc): calls with promises, notifications as DOM events,
// reconnection with a growing delay when the daemon goes away. Nothing here touches the page.

const CALL_TIMEOUT_MS = 60000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 5000;

/** An error answer of the daemon (code, message, data), or a local one (code 0: no daemon). */
export class RpcError extends Error {
  constructor({ code = 0, message = "", data = null } = {}) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

/** Events: "open" (after each (re)connection), "close", and one per notification method. */
export class Rpc extends EventTarget {
  constructor(path = "/rpc") {
    super();
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.url = `${scheme}//${location.host}${path}`;
    this.pending = new Map();
    this.nextId = 1;
    this.ws = null;
    this.retryMs = RETRY_MIN_MS;
    this.timer = null;
  }

  /** Opens the socket (and reopens it whenever it closes). */
  start() {
    clearTimeout(this.timer);
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.retryMs = RETRY_MIN_MS;
      this.dispatchEvent(new Event("open"));
    };
    ws.onmessage = (msg) => this.receive(msg.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.failAll("the connection to the daemon was lost");
      this.dispatchEvent(new Event("close"));
      this.timer = setTimeout(() => this.start(), this.retryMs);
      this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    };
  }

  /** Closes the socket for good (until ``start``). */
  stop() {
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
    this.failAll("the page was left");
  }

  /** Closes the socket and opens a new one at once (after the session cookie was set). */
  restart() {
    this.stop();
    this.start();
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  failAll(message) {
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(new RpcError({ code: 0, message }));
    }
    this.pending.clear();
  }

  /** The result of ``method``; rejects with RpcError. */
  call(method, params = undefined) {
    if (!this.open) return Promise.reject(new RpcError({ message: "no connection to the daemon" }));
    const id = this.nextId++;
    const request = { jsonrpc: "2.0", method, id };
    if (params !== undefined) request.params = params;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcError({ code: -32001, message: "no answer from the daemon in time" }));
      }, CALL_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify(request));
    });
  }

  receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    for (const one of Array.isArray(msg) ? msg : [msg]) {
      if (one.id !== undefined && one.id !== null && this.pending.has(one.id)) {
        const { resolve, reject, timer } = this.pending.get(one.id);
        this.pending.delete(one.id);
        clearTimeout(timer);
        if (one.error) reject(new RpcError(one.error));
        else resolve(one.result);
      } else if (typeof one.method === "string") {
        this.dispatchEvent(new CustomEvent(one.method, { detail: one.params || {} }));
      }
    }
  }
}

const REFUSALS = {
  DeviceBusy: "the camera is busy: try again in a moment",
  AccessDenied: "the camera does not allow this change now",
  InvalidDevicePropValue: "the camera refused this value",
  InvalidDevicePropFormat: "the camera cannot take a value written like this",
  DevicePropNotSupported: "the camera does not have this setting",
  StoreFull: "the card is full",
  StoreNotAvailable: "there is no card in the camera",
  NoValidObjectInfo: "the camera could not store the picture",
  InvalidObjectHandle: "the picture is no longer on the camera",
  ObjectWriteProtected: "the picture is protected on the camera",
};

/** An error from the daemon or the camera, in words a photographer reads. */
export function describeError(err) {
  const data = (err && err.data) || {};
  switch (err && err.code) {
    case -32000:
      return "The camera is not connected.";
    case -32001:
      return "The camera did not answer in time.";
    case -32002: {
      const words = REFUSALS[data.name] || "the camera refused";
      return `${capital(words)}${data.name ? ` (${data.name})` : ""}.`;
    }
    case -32003:
      return "This camera cannot do that.";
    case -32004:
      return "The camera has no such setting.";
    case -32005:
      return invalidValue(err, data);
    case -32006:
      return "The daemon has too many requests waiting: try again.";
    case -32010:
      return "The daemon needs its token.";
    case -32602:
      return `Not accepted: ${err.message}`;
    default:
      return capital(err && err.message ? String(err.message) : "Something went wrong.");
  }
}

/** -32005: the daemon refused the value before the camera saw it; its message says why after "for P: ". */
function invalidValue(err, data) {
  const why = String(err.message || "").replace(/^invalid value .*? for [^:]+: /, "");
  if (/is read-only$/.test(why)) return "This setting is read-only.";
  const value = JSON.stringify(data.value);
  if (why.startsWith("allowed: ")) return `${value} is not allowed; the camera takes ${why.slice(9)}.`;
  return `${value} is not accepted: ${why}.`;
}

function capital(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
