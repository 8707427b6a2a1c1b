package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []Entry
		err  string
	}{
		{name: "empty", doc: "", want: nil},
		{name: "comments only", doc: "# nothing\n", want: nil},
		{name: "scalars and lists", doc: "url: https://a/artifactory\nrepo:\n  - docker-*\n  - other\nmin-age: 7d\ndelete: true\n",
			want: []Entry{
				{Key: "url", Values: []string{"https://a/artifactory"}, Line: 1},
				{Key: "repo", Values: []string{"docker-*", "other"}, List: true, Line: 2},
				{Key: "min-age", Values: []string{"7d"}, Line: 5},
				{Key: "delete", Values: []string{"true"}, Line: 6},
			}},
		{name: "flow list", doc: "exclude-image: [base/*, tools]\n", want: []Entry{{Key: "exclude-image", Values: []string{"base/*", "tools"}, List: true, Line: 1}}},
		{name: "not a mapping", doc: "- a\n- b\n", err: "want a mapping"},
		{name: "duplicate key", doc: "repo: a\nrepo: b\n", err: `key "repo" repeats line 1`},
		{name: "nested mapping", doc: "repo:\n  a: b\n", err: `key "repo": want a value or a list`},
		{name: "null value", doc: "repo:\n", err: `key "repo" has no value`},
		{name: "two documents", doc: "repo: a\n---\nrepo: b\n", err: "second YAML document"},
		{name: "syntax", doc: "repo: [a\n", err: "yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.doc))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Entries) != len(tt.want) {
				t.Fatalf("entries = %+v, want %+v", f.Entries, tt.want)
			}
			for i, e := range f.Entries {
				w := tt.want[i]
				if e.Key != w.Key || !slices.Equal(e.Values, w.Values) || e.List != w.List || e.Line != w.Line {
					t.Errorf("entry %d = %+v, want %+v", i, e, w)
				}
			}
		})
	}
}

func TestCheckNamesUnknownKeys(t *testing.T) {
	f, err := Parse([]byte("repo: a\nrepos: b\ndelet: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	f.Path = "c.yaml"
	err = f.Check(func(k string) bool { return k == "repo" })
	if err == nil || !strings.Contains(err.Error(), `line 2: unknown key "repos"`) || !strings.Contains(err.Error(), `line 3: unknown key "delet"`) {
		t.Errorf("err = %v", err)
	}
}

func TestJFrogServer(t *testing.T) {
	const conf = `{
  "servers": [
    {"serverId": "prod", "url": "https://acme.jfrog.io/", "artifactoryUrl": "https://acme.jfrog.io/artifactory/",
     "accessToken": "tok-prod", "isDefault": true},
    {"serverId": "basic", "url": "https://other.example/", "user": "bob", "password": "pw"},
    {"serverId": "refresh-only", "url": "https://r.example/", "refreshToken": "rt"}
  ],
  "version": "6"
}`
	tests := []struct {
		name, id, conf string
		want           JFrogServer
		err            string
		encrypted      bool
	}{
		{name: "by id", id: "prod", conf: conf, want: JFrogServer{ID: "prod", ArtifactoryURL: "https://acme.jfrog.io/artifactory/", AccessToken: "tok-prod", IsDefault: true}},
		{name: "default", id: "", conf: conf, want: JFrogServer{ID: "prod", ArtifactoryURL: "https://acme.jfrog.io/artifactory/", AccessToken: "tok-prod", IsDefault: true}},
		{name: "url derived, basic auth", id: "basic", conf: conf, want: JFrogServer{ID: "basic", ArtifactoryURL: "https://other.example/artifactory/", User: "bob", Password: "pw"}},
		{name: "no usable credentials", id: "refresh-only", conf: conf, err: "neither an access token"},
		{name: "unknown id", id: "nope", conf: conf, err: `no server "nope"`},
		{name: "encrypted flag", id: "prod", conf: `{"servers":[{"serverId":"prod","url":"https://a/","accessToken":"ENCRYPTED"}],"version":"6","enc":true}`, err: "encrypted", encrypted: true},
		{name: "encrypted blob", id: "prod", conf: "\x8f\x02binary", err: "encrypted", encrypted: true},
		{name: "old version", id: "prod", conf: `{"servers":[],"version":"5"}`, err: "version 6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseJFrogServer([]byte(tt.conf), "jfrog-cli.conf.v6", tt.id)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if errors.Is(err, ErrEncrypted) != tt.encrypted {
					t.Errorf("errors.Is(ErrEncrypted) = %v", !tt.encrypted)
				}
				if strings.Contains(err.Error(), "ENCRYPTED") {
					t.Errorf("the message shows a secret field: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestJFrogConfigPath(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if got := JFrogConfigPath(getenv, "/home/u"); got != "/home/u/.jfrog/jfrog-cli.conf.v6" {
		t.Errorf("default path %s", got)
	}
	env[JFrogHomeEnv] = "/etc/jf"
	if got := JFrogConfigPath(getenv, "/home/u"); got != "/etc/jf/jfrog-cli.conf.v6" {
		t.Errorf("JFROG_CLI_HOME_DIR path %s", got)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, JFrogConfigName)
	if err := os.WriteFile(p, []byte(`{"servers":[{"serverId":"x","url":"https://x/","accessToken":"t"}],"version":"6"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := LoadJFrogServer(p, "x"); err != nil || s.AccessToken != "t" {
		t.Errorf("LoadJFrogServer = %+v, %v", s, err)
	}
	if _, err := LoadJFrogServer(filepath.Join(dir, "missing"), "x"); err == nil || !strings.Contains(err.Error(), "jf c add") {
		t.Errorf("missing file: %v", err)
	}
}
