// The live feed of one run: a WebSocket for new intervals and state, with
// automatic reconnection, and the metrics history to resume without a gap.
//
// On every (re)connection the socket opens first and buffers what it
// receives; then the run's state and the points after the last one seen
// are fetched over HTTP; then the buffer is replayed. Points are applied
// strictly in `seq` order: a duplicate is dropped, a gap triggers another
// fetch. So a client that was away for a minute shows every interval of
// that minute, once.

const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];

async function getJSON(url) {
  const r = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

/** Follows one run; calls `onPoints(points, live)`, `onRun(state)`, `onConn(state)`. */
export class LiveFeed {
  constructor(runId, handlers) {
    this.runId = runId;
    this.h = handlers;
    this.lastSeq = -1;
    this.stateSeq = -2;
    this.final = false;
    this.attempt = 0;
    this.ws = null;
    this.syncing = false;
    this.buffer = [];
    this.timer = null;
  }

  /** Opens the first connection. */
  start() { this.connect(); }

  get base() { return `/api/v1/runs/${encodeURIComponent(this.runId)}/live`; }

  connect() {
    clearTimeout(this.timer);
    this.h.onConn('connecting');
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${proto}://${location.host}/api/v1/ws?run=${encodeURIComponent(this.runId)}`);
    this.ws = ws;
    this.syncing = true;
    this.buffer = [];
    ws.addEventListener('open', async () => {
      if (this.ws !== ws) return;
      if (await this.resync()) {
        this.attempt = 0;
        this.h.onConn(this.final ? 'ended' : 'live');
      } else {
        ws.close();
      }
    });
    ws.addEventListener('message', (ev) => {
      if (this.ws !== ws) return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (this.syncing) this.buffer.push(msg); else this.handle(msg);
    });
    ws.addEventListener('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.final) { this.h.onConn('ended'); return; }
      this.h.onConn('lost');
      const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
      this.attempt++;
      // A server may close the socket of an ended run before the resync
      // that learns it has ended is done: then there is nothing to resume.
      this.timer = setTimeout(() => (this.final ? this.h.onConn('ended') : this.connect()),
        delay * (0.75 + Math.random() / 2));
    });
  }

  /** Fetches the state and the missed points, then replays the buffer. */
  async resync() {
    this.syncing = true;
    try {
      const after = this.lastSeq >= 0 ? `?after=${this.lastSeq}` : '';
      const [run, page] = await Promise.all([getJSON(this.base), getJSON(`${this.base}/metrics${after}`)]);
      this.accept(page.points, false);
      this.state(run);
    } catch (e) {
      console.warn('resync failed', e);
      this.syncing = false;
      return false;
    }
    this.syncing = false;
    const queued = this.buffer.splice(0);
    for (const m of queued) this.handle(m);
    return true;
  }

  handle(msg) {
    if (msg.run_id !== undefined && msg.run_id !== this.runId) return;
    if (msg.type === 'interval') {
      if (msg.point.seq > this.lastSeq + 1) {
        // A gap: fetch it (this message is replayed after the fetch).
        this.buffer.push(msg);
        if (!this.syncing) this.resync();
        return;
      }
      this.accept([msg.point], true);
      this.state(msg.run);
    } else if (msg.type === 'run') {
      this.state(msg.run);
    }
  }

  /** Applies points in order; `live` tells whether they came as messages. */
  accept(points, live) {
    const fresh = [];
    for (const p of [...points].sort((a, b) => a.seq - b.seq)) {
      if (p.seq !== this.lastSeq + 1) continue;
      this.lastSeq = p.seq;
      fresh.push(p);
    }
    if (fresh.length) this.h.onPoints(fresh, live);
  }

  state(run) {
    const seq = run.last_seq ?? -1;
    if (seq < this.stateSeq) return;
    this.stateSeq = seq;
    const terminal = ['passed', 'failed', 'aborted', 'errored'].includes(run.status);
    this.final = terminal && seq <= this.lastSeq;
    this.h.onRun(run);
  }
}
