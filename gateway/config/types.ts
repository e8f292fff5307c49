export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** A carrier's SIP trunk: the only peers allowed to use UDP/TCP and plain RTP. */
export interface Trunk {
  /** Short identifier (letters, digits, `_ . -`), safe to show in logs and audit records. */
  name: string;
  /** IPv4/IPv6 addresses or CIDR blocks the trunk sends from. */
  sources: string[];
}

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
  log: { level: LogLevel };
  /** Absolute directory for the generated dev CA and server certificate. */
  certs: { devDir: string };
}
