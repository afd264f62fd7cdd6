// Package redact takes credentials out of text before lkg prints or
// journals it: the userinfo of URLs (https://ci:TOKEN@host/...) and the
// values of token-like query parameters (?access_token=...), in a URL
// alone or anywhere inside an error message or a warning. It also
// recognises credentials typed into an image reference (user:pass@host/repo),
// which lkg refuses rather than uses.
//
// Redaction keeps the rest of the text byte for byte, so a redacted URL
// still says which host and repository failed.
package redact
