/**
 * Test messages of about `bytes` octets: the header block a message carries by the time
 * it reaches an MX (trace, DKIM, list and MIME headers) and a plain-text body, CRLF line
 * ends, already dot-stuffed (RFC 5321 §4.5.2) and ending in CRLF, ready for DATA.
 */

const WORDS = (
  'the quarterly report is attached below please review the figures before our meeting on ' +
  'thursday we still need sign off from finance on the revised budget and the vendor ' +
  'contracts that were renewed last month let me know if anything looks wrong or missing ' +
  'thanks again for your help with the migration everything went smoothly over the weekend'
).split(' ');

function bodyText(bytes: number, seed: number): string {
  const lines: string[] = [];
  let size = 0;
  let line = '';
  let i = seed;
  while (size < bytes) {
    const word = WORDS[i++ % WORDS.length] ?? 'mail';
    if (line.length + word.length + 1 > 72) {
      lines.push(line);
      size += line.length + 2;
      // Every so often a paragraph break, and a line that needs dot-stuffing.
      if (lines.length % 9 === 0) lines.push('');
      if (lines.length % 40 === 0) lines.push('... and so on');
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  // Dot-stuffing: a line that starts with "." gets one more (RFC 5321 §4.5.2).
  return lines.map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\r\n') + '\r\n';
}

function headerBlock(index: number, to: string, date: Date): string {
  const id = `${date.getTime().toString(36)}.${index}`;
  const rfcDate = date.toUTCString().replace('GMT', '+0000');
  return [
    `Received: from mta-out-${index % 7}.sender.example (mta-out-${index % 7}.sender.example [192.0.2.${(index % 250) + 1}])`,
    `\tby mx.relay.example (Postfix) with ESMTPS id 4Q${id.toUpperCase()}`,
    `\tfor <${to}>; ${rfcDate}`,
    `Received: by mail-app.sender.example with HTTP; ${rfcDate}`,
    'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=sender.example; s=2024;',
    '\th=from:to:subject:date:message-id:mime-version:content-type;',
    '\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;',
    '\tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBidXQgaXQgaGFzIHRoZSBzaXplIG9mIG9uZSBh',
    '\t bmQgdGhhdCBpcyBhbGwgdGhlIGJlbmNoIG5lZWRzIGZyb20gaXQsIG5vdGhpbmcgbW9yZSB0aGFu',
    '\t IHRoYXQgYXQgYWxsLCByZWFsbHksIHRydXN0IG1l',
    'ARC-Authentication-Results: i=1; mx.relay.example; spf=pass smtp.mailfrom=sender.example',
    `Authentication-Results: mx.relay.example; dkim=pass header.d=sender.example; spf=pass smtp.mailfrom=bench@sender.example`,
    'From: "Bench Sender" <bench@sender.example>',
    `To: <${to}>`,
    `Subject: Quarterly report, revision ${index}`,
    `Date: ${rfcDate}`,
    `Message-ID: <${id}@sender.example>`,
    'List-Unsubscribe: <mailto:unsubscribe@sender.example?subject=unsubscribe>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8; format=flowed',
    'Content-Transfer-Encoding: 7bit',
    '',
    '',
  ].join('\r\n');
}

/** The body of message `index`: unique headers, a shared body of about the right size. */
export function makeMessageFactory(bytes: number, to: string): (index: number) => Buffer {
  const sample = headerBlock(0, to, new Date());
  const body = Buffer.from(bodyText(Math.max(256, bytes - sample.length), 0), 'latin1');
  return (index) => Buffer.concat([Buffer.from(headerBlock(index, to, new Date()), 'latin1'), body]);
}
