package redact

import (
	"net/url"
	"strings"
)

// Mask stands in for a credential.
const Mask = "***"

// URL returns s with its credentials masked when s is a URL with a scheme
// (scheme://[userinfo@]host/path?query): the userinfo becomes Mask (a user
// name alone can be a token, as in https://TOKEN@github.com/), except an
// ssh user without a password (ssh://git@host/repo), which is no secret;
// token-like query parameters keep their names and lose their values.
// Anything else comes back unchanged, scp-like git addresses
// (git@host:repo) included.
func URL(s string) string {
	i := strings.Index(s, "://")
	if i <= 0 || !isScheme(s[:i]) {
		return s
	}
	return s[:i+3] + redactRest(s[:i], s[i+3:])
}

// redactRest masks the userinfo and query of everything after "scheme://".
func redactRest(scheme, rest string) string {
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		user := authority[:at]
		if !(isSSH(scheme) && !strings.Contains(user, ":")) {
			authority = Mask + authority[at:]
		}
	}
	q := strings.IndexByte(tail, '?')
	if q < 0 {
		return authority + tail
	}
	path, query, frag := tail[:q+1], tail[q+1:], ""
	if h := strings.IndexByte(query, '#'); h >= 0 {
		query, frag = query[:h], query[h:]
	}
	params := strings.Split(query, "&")
	for k, p := range params {
		if name, _, ok := strings.Cut(p, "="); ok && secretParam(name) {
			params[k] = name + "=" + Mask
		}
	}
	return authority + path + strings.Join(params, "&") + frag
}

// Text masks credentials in every URL inside s (an error message, a
// warning, a note), as URL does. A URL ends at white space, a quote, or
// one of <>(){} ` and a trailing '.', ',' ';' or ':' is left outside.
func Text(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		start := i
		for start > 0 && isSchemeByte(s[start-1]) {
			start--
		}
		end := i + 3
		for end < len(s) && !isURLEnd(s[end]) {
			end++
		}
		for end > i+3 && strings.IndexByte(".,;:", s[end-1]) >= 0 {
			end--
		}
		b.WriteString(s[:start])
		if start < i && isScheme(s[start:i]) {
			b.WriteString(URL(s[start:end]))
		} else {
			b.WriteString(s[start:end])
		}
		s = s[end:]
	}
}

// ImageReference says whether an image reference (HOST/REPO[:TAG|@DIGEST],
// optionally written as a URL) carries credentials before its host, as in
// user:pass@host/repo, and returns it with them masked.
func ImageReference(ref string) (masked string, hasCredentials bool) {
	prefix, rest := "", ref
	if i := strings.Index(ref, "://"); i > 0 {
		prefix, rest = ref[:i+3], ref[i+3:]
	}
	host := rest
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		host = rest[:j]
	}
	at := strings.LastIndexByte(host, '@')
	if at < 0 {
		return ref, false
	}
	return prefix + Mask + rest[at:], true
}

// secretParam says whether a query parameter's name is one that carries a
// credential: tokens, keys, passwords, signatures (pre-signed URLs), codes.
func secretParam(name string) bool {
	if unescaped, err := url.QueryUnescape(name); err == nil {
		name = unescaped
	}
	n := strings.ToLower(strings.ReplaceAll(name, "-", "_"))
	switch n {
	case "sig", "code", "sas", "pass", "pw", "jwt":
		return true
	}
	for _, part := range []string{"token", "secret", "passw", "pwd", "signature", "credential", "auth", "key", "session"} {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

func isSSH(scheme string) bool {
	switch strings.ToLower(scheme) {
	case "ssh", "git+ssh", "ssh+git":
		return true
	}
	return false
}

func isScheme(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isSchemeByte(s[i]) {
			return false
		}
	}
	return true
}

func isSchemeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

func isURLEnd(c byte) bool {
	return c <= ' ' || c == 0x7f || strings.IndexByte("\"'<>(){}`", c) >= 0
}
