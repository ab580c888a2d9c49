export { createPop3Deps, createPop3Server, type Pop3Server, type Pop3ServerOptions } from './server.js';
export { Pop3Session, type Pop3Deps } from './session.js';
