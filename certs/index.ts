export { CertificateError } from './certificate-error.js';
export { loadCertificateSet, type CertificateFiles, type CertificateSet } from './certificate-set.js';
export { ensureDevCertificates, generateDevCertificates, type DevCertificateOptions } from './dev-certificates.js';
export { certificateExpiry, certificateInfo, fingerprintSha256, splitPemCertificates, type CertificateInfo } from './inspect.js';
export { issueCertificate, type IssuedCertificate, type IssueOptions } from './issue.js';
export { certsCli, type CliOutput } from './cli.js';
