import type { Pop3CommandSpec } from '../command.js';
import { auth } from './auth.js';
import { capa } from './capa.js';
import { dele } from './dele.js';
import { list } from './list.js';
import { noop } from './noop.js';
import { pass } from './pass.js';
import { quit } from './quit.js';
import { retr } from './retr.js';
import { rset } from './rset.js';
import { stat } from './stat.js';
import { stls } from './stls.js';
import { top } from './top.js';
import { uidl } from './uidl.js';
import { user } from './user.js';

/** Every POP3 command, by keyword: the dispatcher's one map. */
export function pop3Commands(): Map<string, Pop3CommandSpec> {
  const specs = [user, pass, auth, stls, capa, quit, stat, list, uidl, retr, top, dele, noop, rset];
  return new Map(specs.map((spec) => [spec.name, spec]));
}
