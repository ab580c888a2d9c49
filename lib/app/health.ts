import { createServer, type Server } from 'node:http';
import type { Logger } from '../log.js';
import { listenNet } from './mailroom.js';

/**
 * The health check a load balancer polls (GET /health): 200 while the task serves and its
 * backend answers, 503 once it is draining (after SIGTERM) or when the backend does not
 * answer, so the balancer stops sending new connections before the listeners close.
 */
export class HealthServer {
  private draining = false;
  private readonly server: Server;
  private lastCheck = { at: 0, ok: false };

  constructor(
    private readonly check: () => Promise<void>,
    private readonly logger: Logger,
    /** A backend check is reused for this long, so a busy balancer does not multiply backend calls. */
    private readonly cacheMs = 5000,
  ) {
    this.server = createServer((req, res) => {
      if (req.url !== '/health' || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404).end();
        return;
      }
      void this.healthy().then((ok) => {
        const status = this.draining ? 'draining' : ok ? 'ok' : 'backend unavailable';
        res.writeHead(ok && !this.draining ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status }));
      });
    });
  }

  async listen(port: number, host: string): Promise<number> {
    return listenNet(this.server, port, host);
  }

  /** From now on answer 503: the task is going away. */
  drain(): void {
    this.draining = true;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async healthy(): Promise<boolean> {
    if (Date.now() - this.lastCheck.at < this.cacheMs) return this.lastCheck.ok;
    let ok = true;
    try {
      await this.check();
    } catch (err) {
      ok = false;
      this.logger.warn({ err }, 'health check: backend did not answer');
    }
    this.lastCheck = { at: Date.now(), ok };
    return ok;
  }
}
