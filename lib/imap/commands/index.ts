import type { CommandSpec } from '../command.js';
import { capability } from './capability.js';
import { noop, check } from './noop.js';
import { logout } from './logout.js';
import { id } from './id.js';
import { enable } from './enable.js';
import { namespace } from './namespace.js';
import { login, authenticate, starttls } from './auth.js';
import { select, examine, close, unselect } from './select.js';
import { expunge } from './expunge.js';
import { idle } from './idle.js';
import { fetch } from './fetch.js';
import { store } from './store.js';
import { copy, move } from './copy.js';
import { search } from './search.js';
import { listMailboxes, lsub } from './list.js';
import { create, deleteMailbox, rename, subscribeMailbox, unsubscribeMailbox } from './mailboxes.js';
import { status } from './status.js';
import { append } from './append.js';

/** Every command by name; UID forms are the same spec with `uid: true` (RFC 3501 §6.4.8). */
export function commandRegistry(): Map<string, CommandSpec> {
  const all: CommandSpec[] = [
    capability,
    noop,
    check,
    logout,
    id,
    enable,
    namespace,
    login,
    authenticate,
    starttls,
    select,
    examine,
    close,
    unselect,
    expunge,
    idle,
    fetch,
    store,
    copy,
    move,
    search,
    listMailboxes,
    lsub,
    create,
    deleteMailbox,
    rename,
    subscribeMailbox,
    unsubscribeMailbox,
    status,
    append,
  ];
  return new Map(all.map((spec) => [spec.name, spec]));
}
