/**
 * Preloaded (NODE_OPTIONS=--require) into every Node process the benchmark starts, to measure what
 * the process cannot report itself: bytes it read from PostgreSQL (sockets to BENCH_PROBE_PG_PORT)
 * and its peak resident memory. At exit it writes <BENCH_PROBE_DIR>/<pid>.json. Plain JavaScript so
 * that it loads before any TypeScript loader; it only observes, never changes behaviour.
 */
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const outDir = process.env.BENCH_PROBE_DIR;
const pgPort = Number(process.env.BENCH_PROBE_PG_PORT);

if (outDir) {
  const totals = { pgConnections: 0, pgBytesRead: 0, pgBytesWritten: 0 };
  const open = new Set();
  const close = (socket) => {
    if (!open.delete(socket)) return;
    totals.pgBytesRead += socket.bytesRead;
    totals.pgBytesWritten += socket.bytesWritten;
  };
  const originalConnect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function probedConnect(...args) {
    if (!this.benchProbed) {
      this.benchProbed = true;
      this.once('connect', () => {
        if (this.remotePort !== pgPort) return;
        totals.pgConnections += 1;
        open.add(this);
        this.once('close', () => close(this));
      });
    }
    return originalConnect.apply(this, args);
  };

  process.on('exit', () => {
    for (const socket of [...open]) close(socket);
    let peakRssBytes = process.resourceUsage().maxRSS * 1024;
    try {
      const match = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
      if (match) peakRssBytes = Number(match[1]) * 1024;
    } catch {
      // Not Linux: maxRSS above.
    }
    const record = { pid: process.pid, argv: process.argv.slice(1), peakRssBytes, ...totals };
    fs.writeFileSync(path.join(outDir, `${process.pid}.json`), JSON.stringify(record));
  });
}
