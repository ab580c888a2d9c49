/**
 * The trace header prepended to every accepted message (RFC 5321 §4.4), with the
 * "with" protocol names of RFC 3848: ESMTP, ESMTPS (TLS), ESMTPA (AUTH), ESMTPSA (both).
 */
export interface TraceInfo {
  helo: string;
  clientAddress: string;
  clientHostname?: string;
  hostname: string;
  id: string;
  tls: boolean;
  authenticated: boolean;
  esmtp: boolean;
  /** Named in a `for` clause only when there is exactly one recipient (no disclosure of the others). */
  rcptTo: string[];
  date: Date;
}

export function protocolName(info: Pick<TraceInfo, 'tls' | 'authenticated' | 'esmtp'>): string {
  if (!info.esmtp) return 'SMTP';
  return `ESMTP${info.tls ? 'S' : ''}${info.authenticated ? 'A' : ''}`;
}

/** RFC 5322 §3.3 date-time, e.g. "Thu, 26 Nov 2026 12:00:00 +0000". */
export function rfc5322Date(date: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${days[date.getUTCDay()]}, ${pad(date.getUTCDate())} ${months[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

/** Removes what could break the header: control characters, and parentheses that would end a comment. */
function clean(value: string): string {
  return value.replace(/[\x00-\x1f\x7f()]/g, '').slice(0, 255) || 'unknown';
}

export function receivedHeader(info: TraceInfo): string {
  const remote =
    info.clientHostname && info.clientHostname !== `[${info.clientAddress}]`
      ? `${clean(info.clientHostname)} [${clean(info.clientAddress)}]`
      : `[${clean(info.clientAddress)}]`;
  const lines = [
    `Received: from ${clean(info.helo)} (${remote})`,
    `\tby ${clean(info.hostname)} (Mailroom) with ${protocolName(info)} id ${info.id}`,
  ];
  const only = info.rcptTo.length === 1 ? info.rcptTo[0] : undefined;
  if (only && !/[\x00-\x1f<>]/.test(only)) lines.push(`\tfor <${only}>`);
  lines[lines.length - 1] += `; ${rfc5322Date(info.date)}`;
  return lines.join('\r\n') + '\r\n';
}
