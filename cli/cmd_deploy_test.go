package cli

import "testing"

func TestCheckTarget(t *testing.T) {
	tests := []struct {
		to string
		ok bool
	}{
		{"registry.example.com/team/app:prod", true},
		{"127.0.0.1:5000/app:live", true},
		{"localhost:5000/a/b/c:v1.2.3", true},
		{"127.0.0.1:5000/app", false},           // no tag: the port is not one
		{"app:prod", false},                     // no registry host
		{"r.example/app@sha256:abcd", false},    // a digest cannot be moved
		{"r.example/app:", false},               // empty tag
		{"r.example/app:prod@sha256:00", false}, // tag and digest
		{"", false},
	}
	for _, tt := range tests {
		err := checkTarget(tt.to)
		if got := err == nil; got != tt.ok {
			t.Errorf("checkTarget(%q) = %v, want ok=%v", tt.to, err, tt.ok)
		}
		if err == nil {
			continue
		}
		if _, code := describe(err, false); code != exitUsage {
			t.Errorf("checkTarget(%q): exit code %d, want %d", tt.to, code, exitUsage)
		}
	}
}

func TestParseBuildArgs(t *testing.T) {
	tests := []struct {
		args    []string
		want    map[string]string
		wantErr bool
	}{
		{nil, map[string]string{}, false},
		{[]string{"A=1", "B=x=y", "C="}, map[string]string{"A": "1", "B": "x=y", "C": ""}, false},
		{[]string{"NOVALUE"}, nil, true},
		{[]string{"=v"}, nil, true},
	}
	for _, tt := range tests {
		got, err := parseBuildArgs(tt.args)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseBuildArgs(%q) err = %v, want error %v", tt.args, err, tt.wantErr)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("parseBuildArgs(%q) = %v, want %v", tt.args, got, tt.want)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("parseBuildArgs(%q)[%q] = %q, want %q", tt.args, k, got[k], v)
			}
		}
	}
}
