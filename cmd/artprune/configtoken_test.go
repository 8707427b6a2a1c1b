package main

import (
	"context"
	"encoding/base64"
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestConfigToken: a JFrog CLI config token in a JF_ENV_* variable (what `jf c export` prints, as setup-jfrog-cli
// takes it) gives the URL and the credentials; mixed with the separate variables, or next to a second token, it is
// a usage error naming them; a bad one says so without quoting it.
func TestConfigToken(t *testing.T) {
	srv, sc := newSeedServer(t)
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	platformToken := enc(`{"version":2,"url":"` + srv.URL + `/","accessToken":"` + testToken + `","serverId":"emu"}`)
	v1Token := enc(`{"version":1,"url":"` + srv.ArtifactoryURL() + `","user":"admin","password":"` + testToken + `","serverId":"old"}`)
	withEnv := func(kv ...string) context.Context {
		return withEnviron(context.Background(), func() []string { return kv })
	}
	for _, tc := range []struct {
		name    string
		environ []string
		env     map[string]string // what getenv answers
		args    []string
		code    int
		want    string
	}{
		{"a version 2 token with the platform URL", []string{"PATH=/bin", "JF_ENV_1=" + platformToken}, nil, nil, ExitOK,
			"using the Artifactory under the JFrog Platform URL"},
		{"a version 1 token with user and password", []string{"JF_ENV_LOCAL=" + v1Token}, nil, nil, ExitOK, "using Artifactory"},
		{"a token and JF_URL", []string{"JF_ENV_1=" + platformToken}, map[string]string{"JF_URL": srv.URL}, nil, ExitUsage,
			"holds a JFrog CLI config token (JF_ENV_1) and also JF_URL"},
		{"two tokens", []string{"JF_ENV_1=" + platformToken, "JF_ENV_2=" + v1Token}, nil, nil, ExitUsage,
			"several JFrog CLI config tokens (JF_ENV_1, JF_ENV_2)"},
		{"a bad token", []string{"JF_ENV_1=" + enc(`{"url":"`+srv.URL+`","refreshToken":"refresh-secret"}`)}, nil, nil, ExitUsage,
			"JF_ENV_1: not a JFrog CLI config token: it has neither an access token"},
		{"a token with --url elsewhere", []string{"JF_ENV_1=" + platformToken}, nil, []string{"--url", "http://127.0.0.1:1/artifactory"}, ExitUsage,
			"credentials come from the JFrog CLI config token JF_ENV_1, which names another URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := maps.Clone(tc.env)
			for _, kv := range tc.environ { // getenv answers what the list holds, as os.Getenv does
				k, v, _ := strings.Cut(kv, "=")
				if env == nil {
					env = map[string]string{}
				}
				env[k] = v
			}
			res := runWith(t, withEnv(tc.environ...), env, append([]string{"prune", "--repo", "docker-local", "--delete"}, tc.args...)...)
			if res.code != tc.code || !strings.Contains(res.stdout+res.stderr, tc.want) {
				t.Fatalf("exit %d (want %d), want %q in:\n%s\n%s", res.code, tc.code, tc.want, res.stdout, res.stderr)
			}
			for _, secret := range []string{testToken, "refresh-secret", platformToken, v1Token} {
				if strings.Contains(res.stdout+res.stderr, secret) {
					t.Errorf("the output shows a secret or a token")
				}
			}
			if tc.code == ExitOK {
				var want []string
				for f := range sc.Live {
					want = append(want, f)
				}
				slices.Sort(want)
				if got := digestFolders(t, srv, "docker-local"); !slices.Equal(got, want) {
					t.Errorf("digest folders %v, want the live ones %v", got, want)
				}
			}
		})
	}
}
