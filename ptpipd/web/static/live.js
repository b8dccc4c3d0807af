// The live view: /liveview.mjpeg read with fetch (so the page counts frames and knows when the stream ends,
// which an <img> hides), each JPEG decoded off the main thread and drawn on a canvas. A frame that arrives
// while the previous one is still decoding replaces the waiting one: the picture is always the newest.

const HEADER_END = [13, 10, 13, 10];
const MAX_HEADER = 4096;
const MAX_FRAME = 32 << 20;

function indexOf(buf, pattern, from) {
  outer: for (let i = from; i <= buf.length - pattern.length; i++) {
    for (let k = 0; k < pattern.length; k++) if (buf[i + k] !== pattern[k]) continue outer;
    return i;
  }
  return -1;
}

/** Splits a multipart/x-mixed-replace byte stream into JPEG parts (Content-Length in each part's head). */
class PartReader {
  constructor() {
    this.buf = new Uint8Array(0);
  }

  push(chunk) {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    this.buf = joined;
  }

  /** The next whole part's body, or null until more bytes come. */
  next() {
    const end = indexOf(this.buf, HEADER_END, 0);
    if (end < 0) {
      if (this.buf.length > MAX_HEADER) throw new Error("live view: a part without a header end");
      return null;
    }
    const head = new TextDecoder().decode(this.buf.subarray(0, end));
    const match = /content-length:\s*(\d+)/i.exec(head);
    if (!match) throw new Error("live view: a part without Content-Length");
    const length = Number(match[1]);
    if (length > MAX_FRAME) throw new Error("live view: a frame over 32 MiB");
    const start = end + 4;
    if (this.buf.length < start + length) return null;
    const body = this.buf.slice(start, start + length);
    this.buf = this.buf.slice(start + length);
    return body;
  }
}

/** Shows the stream on ``canvas``; calls ``onstate({running, error})`` and counts frames for ``fps()``. */
export class LiveView {
  constructor(canvas, onstate) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onstate = onstate;
    this.abort = null;
    this.times = [];
    this.frames = 0;
    this.firstFrameMs = null;
    this.waiting = null;
    this.decoding = false;
  }

  get running() {
    return this.abort !== null;
  }

  /** Frames drawn per second over the last two seconds. */
  fps() {
    const now = performance.now();
    while (this.times.length && now - this.times[0] > 2000) this.times.shift();
    if (this.times.length < 2) return 0;
    return ((this.times.length - 1) * 1000) / (this.times[this.times.length - 1] - this.times[0]);
  }

  start() {
    if (this.abort) return;
    const abort = new AbortController();
    this.abort = abort;
    this.times = [];
    this.onstate({ running: true, error: null });
    this.read(abort).then(
      () => this.ended(abort, "the live view ended"),
      (err) => this.ended(abort, abort.signal.aborted ? null : err.message || String(err)),
    );
  }

  stop() {
    if (!this.abort) return;
    const abort = this.abort;
    this.abort = null;
    abort.abort();
    this.onstate({ running: false, error: null });
  }

  ended(abort, error) {
    if (this.abort !== abort) return;
    this.abort = null;
    this.onstate({ running: false, error });
  }

  async read(abort) {
    const response = await fetch("/liveview.mjpeg", { signal: abort.signal, cache: "no-store" });
    if (!response.ok) {
      let message = `HTTP ${response.status}`;
      try {
        message = (await response.json()).error.message || message;
      } catch {
        // not JSON: the status says it
      }
      throw new Error(message);
    }
    const reader = response.body.getReader();
    const parts = new PartReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parts.push(value);
      for (let jpeg = parts.next(); jpeg; jpeg = parts.next()) this.offer(jpeg);
    }
  }

  offer(jpeg) {
    this.waiting = jpeg;
    if (!this.decoding) this.drawNext();
  }

  async drawNext() {
    this.decoding = true;
    while (this.waiting) {
      const jpeg = this.waiting;
      this.waiting = null;
      try {
        const bitmap = await createImageBitmap(new Blob([jpeg], { type: "image/jpeg" }));
        if (this.canvas.width !== bitmap.width || this.canvas.height !== bitmap.height) {
          this.canvas.width = bitmap.width;
          this.canvas.height = bitmap.height;
        }
        this.ctx.drawImage(bitmap, 0, 0);
        bitmap.close();
        this.frames += 1;
        this.times.push(performance.now());
        if (this.firstFrameMs === null) {
          this.firstFrameMs = performance.now();
          this.onstate({ running: true, error: null, first: true });
        }
      } catch {
        // a frame the browser cannot decode: skip it, the next one replaces it
      }
    }
    this.decoding = false;
  }
}
