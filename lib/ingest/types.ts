/** What the ingress hands to ingest: everything about one accepted message but its bytes. */
export interface IngestJob {
  /** Unique id of the accepted message (the queue id the 250 reply names). */
  id: string;
  /** Where the raw message is in the BlobStore. */
  blobKey: string;
  /** MAIL FROM; null for the null reverse path `<>`. */
  mailFrom: string | null;
  /** The accepted RCPT TO addresses, as given. */
  rcptTo: string[];
  /** Remote IP address of the client. */
  clientAddress: string;
  /** HELO/EHLO name the client gave. */
  helo: string;
  tls: boolean;
  /** ISO 8601 time the 250 was sent. */
  receivedAt: string;
  /** Set when the message came in on submission: the authenticated account. */
  authenticatedAs?: string;
}
