package main

import (
	"strings"
	"testing"
)

// TestCredentialsStayWithTheirURL runs whole commands with the URL and the credentials from different sources,
// against two emulators standing for production (whose token is prodToken) and staging. The dangerous mixes are
// usage errors naming both sources, and no request at all reaches either server; the documented set-ups work.
func TestCredentialsStayWithTheirURL(t *testing.T) {
	prod, _ := newSeedServer(t) // accepts testToken
	staging, _ := newSeedServer(t)
	dir := t.TempDir()
	tokFile := writeFile(t, dir, "token", testToken)
	home := t.TempDir()
	writeFile(t, home, "jfrog-cli.conf.v6", `{"servers":[{"serverId":"prod","url":"`+prod.URL+`/","artifactoryUrl":"`+prod.ArtifactoryURL()+
		`","accessToken":"`+testToken+`"}],"version":"6"}`)
	cfgServerID := writeFile(t, dir, "server-id.yaml", "server-id: prod\nrepo: docker-local\n")
	cfgURLToken := writeFile(t, dir, "url-token.yaml", "url: "+prod.ArtifactoryURL()+"\naccess-token-file: "+tokFile+"\nrepo: docker-local\n")
	cfgURL := writeFile(t, dir, "url.yaml", "url: "+prod.ArtifactoryURL()+"\nrepo: docker-local\n")
	cfgToken := writeFile(t, dir, "token.yaml", "access-token-file: "+tokFile+"\nrepo: docker-local\n")

	prodEnv := map[string]string{"JF_URL": prod.ArtifactoryURL(), "JF_ACCESS_TOKEN": testToken}
	tokenOnly := map[string]string{"JF_ACCESS_TOKEN": testToken}
	urlOnly := map[string]string{"JF_URL": prod.ArtifactoryURL()}
	withHome := func(m map[string]string) map[string]string {
		out := map[string]string{"JFROG_CLI_HOME_DIR": home}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want []string // in stderr
	}{
		// Refused: credentials would go to a host their source did not name.
		{"--url with the environment's URL and token", prodEnv, []string{"--url", staging.ArtifactoryURL()}, ExitUsage,
			[]string{"comes from the flags", "credentials come from the environment", prod.ArtifactoryURL()}},
		{"--url with the environment's token alone", tokenOnly, []string{"--url", staging.ArtifactoryURL()}, ExitUsage,
			[]string{"comes from --url", "credentials come from the environment"}},
		{"--url with a config file's token", nil, []string{"--url", staging.ArtifactoryURL(), "--config", cfgToken}, ExitUsage,
			[]string{"comes from --url", "credentials come from the config file"}},
		{"a config file's server-id with the environment's token", withHome(tokenOnly), []string{"--config", cfgServerID}, ExitUsage,
			[]string{"JFrog CLI server prod", "credentials would come from the environment"}},
		{"a config file's URL and token with the environment's token", tokenOnly, []string{"--config", cfgURLToken}, ExitUsage,
			[]string{"comes from the config file, which has credentials of its own", "from the environment"}},
		{"--server-id with --url", withHome(nil), []string{"--server-id", "prod", "--url", staging.ArtifactoryURL()}, ExitUsage,
			[]string{"credentials come from the JFrog CLI server prod, which names another URL"}},
		// Allowed: one source, or a URL alone with credentials alone, or credentials chosen on the command line.
		{"flags together", prodEnv, []string{"--url", prod.ArtifactoryURL(), "--access-token-file", tokFile}, ExitOK, nil},
		{"the environment together", prodEnv, nil, ExitOK, nil},
		{"a server id alone", withHome(prodEnv), []string{"--server-id", "prod"}, ExitOK, nil},
		{"JF_URL with --access-token-file (the quick start)", urlOnly, []string{"--access-token-file", tokFile}, ExitOK, nil},
		{"JF_URL and token with --access-token-file", prodEnv, []string{"--access-token-file", tokFile}, ExitOK, nil},
		{"JF_URL with a config file's token file", urlOnly, []string{"--config", cfgToken}, ExitOK, nil},
		{"a config file's URL with JF_ACCESS_TOKEN", tokenOnly, []string{"--config", cfgURL}, ExitOK, nil},
		{"a config file's URL and token", nil, []string{"--config", cfgURLToken}, ExitOK, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prod.Stats().Reset()
			staging.Stats().Reset()
			args := append([]string{"prune", "--repo", "docker-local", "-q"}, tt.args...)
			res := runCLI(t, tt.env, args...)
			if res.code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", res.code, tt.code, res.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, res.stderr)
				}
			}
			if strings.Contains(res.stderr, testToken) {
				t.Errorf("stderr shows the token:\n%s", res.stderr)
			}
			if _, n := staging.Stats().Snapshot(); n != 0 {
				t.Errorf("staging got %d requests", n)
			}
			if _, n := prod.Stats().Snapshot(); tt.code != ExitOK && n != 0 {
				t.Errorf("a refused run sent %d requests to production", n)
			}
		})
	}
}
