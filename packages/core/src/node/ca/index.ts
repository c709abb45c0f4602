export {
  type CertificateAuthority,
  type CertificateAuthorityJson,
  type CertificateAuthorityOptions,
  type CreateCertificateAuthorityOptions,
  createCertificateAuthority,
  loadCertificateAuthority,
} from './certificate-authority.js'
