export { createHttpServer, type HttpServerDeps, type ReadyState } from './ops-server.js';
