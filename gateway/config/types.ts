export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Where a trunk's dialled number leads: the dial-in IVR (meeting ID, then PIN) or one meeting (PIN only). */
export type DidTarget = { kind: 'ivr' } | { kind: 'meeting'; meetingId: string };

/** A carrier's SIP trunk: the only peers allowed to use UDP/TCP and plain RTP. */
export interface Trunk {
  /** Short identifier (letters, digits, `_ . -`), safe to show in logs and audit records. */
  name: string;
  /** IPv4/IPv6 addresses or CIDR blocks the trunk sends from; empty means any address, which needs `digest`. */
  sources: string[];
  /** The SIP transport the trunk uses; a request over another transport is not this trunk's. */
  transport: 'udp' | 'tcp' | 'tls';
  /**
   * When set, every INVITE must carry digest credentials for this user (the gateway challenges).
   * `algorithm` pins the one challenge offered, for equipment that reads only the first of several.
   */
  digest?: { username: string; password: string; algorithm?: 'SHA-256' | 'MD5' };
  /** TLS trunks only: the name (subject CN or a DNS SAN) the carrier's verified client certificate must carry. */
  tlsIdentity?: string;
  /** The numbers the trunk delivers (Request-URI user, compared without `+` and visual separators). */
  dids: Map<string, DidTarget>;
}

/** How a meeting treats a leg whose media is not encrypted: refuse it, admit it flagged to everyone, or admit it. */
export type EncryptionPolicy = 'require' | 'warn' | 'allow';

/** A meeting the configuration file defines; callers dial `sip:<id>@<host>`. */
export interface MeetingConfig {
  /** 1-64 of `A-Z a-z 0-9 _ -`, unique ignoring case; `echo` is reserved for the test-call service. */
  id: string;
  /** Shown to participants; the directory uses the id when unset. */
  name?: string;
  /** 4-12 digits. */
  pin?: string;
  policy: EncryptionPolicy;
  /** 4-16 digits that phone callers type at the IVR; a numeric `id` is its own dial-in ID. */
  dialInId?: string;
}

/** `full` keeps the address, `24` zeroes an IPv4 address's last octet (an IPv6 address keeps its /48), `none` drops it. */
export type AddressMask = 'full' | '24' | 'none';

export interface TlsFiles {
  /** Absolute paths; when cert and key are unset a dev certificate is generated under `certs.devDir`. */
  cert?: string;
  key?: string;
  chain?: string;
  clientCa?: string;
  requireClientCert: boolean;
}

export interface GatewayConfig {
  /** IP address every listener binds to. */
  bind: string;
  /** Name or address the gateway advertises (certificate SANs, Via/Contact, Warning). */
  host: string;
  sip: {
    /** 0 means the OS picks a free port. */
    udpPort: number;
    tcpPort: number;
    tlsPort: number;
    tls: TlsFiles;
  };
  http: { port: number };
  media: {
    /** UDP range for RTP (even) and RTCP (odd) ports; `min` is always even. */
    ports: { min: number; max: number };
    /** Seconds without media before a leg is torn down. */
    timeoutS: number;
  };
  trunks: Trunk[];
  meetings: MeetingConfig[];
  /** Bearer token for `/api/`; the admin API refuses every request while it is unset. */
  admin: { token?: string };
  log: { level: LogLevel };
  audit: {
    /** An absolute file path (appended, rotated), or `stdout` for containers. */
    file: string;
    /** The file is rotated (renamed with a UTC timestamp) before it would grow past this size. */
    maxSizeMb: number;
    /** Rotated files older than this are deleted. */
    retentionDays: number;
    /** How much of a peer's address a record keeps. */
    remoteAddress: AddressMask;
  };
  /** SIGTERM: new calls are refused while existing ones may continue this long (0: none), then get BYE. */
  shutdown: { graceS: number };
  /** Absolute directory for the generated dev CA and server certificate. */
  certs: { devDir: string };
}
