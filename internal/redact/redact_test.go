package redact

import "testing"

func TestURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://ci:TOKEN@git.example.com/team/app.git", "https://***@git.example.com/team/app.git"},
		{"https://ghp_abc123@github.com/o/r", "https://***@github.com/o/r"},
		{"http://a:b@[::1]:8080/r", "http://***@[::1]:8080/r"},
		{"ssh://git@github.com/o/r.git", "ssh://git@github.com/o/r.git"},
		{"ssh://git:pw@github.com/o/r.git", "ssh://***@github.com/o/r.git"},
		{"git@github.com:o/r.git", "git@github.com:o/r.git"},
		{"https://h/r.git?access_token=T&ref=main#x", "https://h/r.git?access_token=***&ref=main#x"},
		{"https://h/r?X-Amz-Signature=abc&X-Amz-Credential=k&list", "https://h/r?X-Amz-Signature=***&X-Amz-Credential=***&list"},
		{"https://h/r?private_token=T", "https://h/r?private_token=***"},
		{"https://u:p@h?sig=1", "https://***@h?sig=***"},
		{"https://h/path@v2", "https://h/path@v2"},
		{"https://reg.example.com/v2/app/tags/list?n=100&last=v1", "https://reg.example.com/v2/app/tags/list?n=100&last=v1"},
		{"https://auth.example.com/token?scope=repository:app:pull&service=reg&access_token=abc", "https://auth.example.com/token?scope=repository:app:pull&service=reg&access_token=***"},
		{"https://s3.example.com/b/o?X-Amz-Algorithm=AWS4&X-Amz-Signature=ff&X-Amz-Security-Token=tt", "https://s3.example.com/b/o?X-Amz-Algorithm=AWS4&X-Amz-Signature=***&X-Amz-Security-Token=***"},
		{"https://cdn.example.com/o?Expires=1&Signature=s", "https://cdn.example.com/o?Expires=1&Signature=***"},
		{"https://blob.example.com/o?sv=2020&sig=s%2Bx", "https://blob.example.com/o?sv=2020&sig=***"},
		{"https://x.example.com/o?token", "https://x.example.com/o?token"},
		{"https://x.example.com/o?%74oken=s", "https://x.example.com/o?%74oken=***"},
		{"origin", "origin"},
		{"/srv/git/app.git", "/srv/git/app.git"},
		{"", ""},
	} {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`listing refs of remote "https://ci:TOKEN@h/a.git": Get "https://ci:TOKEN@h/a.git/info/refs?service=git-upload-pack": dial tcp: refused`,
			`listing refs of remote "https://***@h/a.git": Get "https://***@h/a.git/info/refs?service=git-upload-pack": dial tcp: refused`},
		{"see https://u:p@h/x.", "see https://***@h/x."},
		{"(https://u:p@h/x), and", "(https://***@h/x), and"},
		{"no url here: a://", "no url here: a://"},
		{"://u:p@h", "://u:p@h"},
		{"x https://h/a?token=1 y", "x https://h/a?token=*** y"},
	} {
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) =\n %q, want\n %q", tc.in, got, tc.want)
		}
	}
}

func TestImageReference(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		creds    bool
	}{
		{"registry.example.com/team/app", "registry.example.com/team/app", false},
		{"registry.example.com/team/app@sha256:abc", "registry.example.com/team/app@sha256:abc", false},
		{"user:pass@registry.example.com/team/app", "***@registry.example.com/team/app", true},
		{"user@registry.example.com:5000/team/app:prod", "***@registry.example.com:5000/team/app:prod", true},
		{"https://user:pass@registry.example.com/team/app", "https://***@registry.example.com/team/app", true},
		{"u:p@host", "***@host", true},
	} {
		got, creds := ImageReference(tc.in)
		if got != tc.want || creds != tc.creds {
			t.Errorf("ImageReference(%q) = %q, %v; want %q, %v", tc.in, got, creds, tc.want, tc.creds)
		}
	}
}
