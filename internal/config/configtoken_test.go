package config

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseConfigToken(t *testing.T) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name, token string
		want        JFrogServer
		err         string
	}{
		{"version 2, platform and artifactory URLs",
			enc(`{"version":2,"url":"https://acme.jfrog.io/","artifactoryUrl":"https://acme.jfrog.io/artifactory/","accessToken":"tok-1","serverId":"acme"}`),
			JFrogServer{ID: "acme", ArtifactoryURL: "https://acme.jfrog.io/artifactory/", AccessToken: "tok-1"}, ""},
		{"version 2, platform URL only",
			enc(`{"version":2,"url":"https://acme.jfrog.io/","user":"u","password":"p","serverId":"acme"}`),
			JFrogServer{ID: "acme", ArtifactoryURL: "https://acme.jfrog.io/", User: "u", Password: "p"}, ""},
		{"version 1: url is the Artifactory URL",
			enc(`{"version":1,"url":"http://127.0.0.1:8081/artifactory/","user":"admin","password":"pw","serverId":"local"}`),
			JFrogServer{ID: "local", ArtifactoryURL: "http://127.0.0.1:8081/artifactory/", User: "admin", Password: "pw"}, ""},
		{"with surrounding space", " " + enc(`{"url":"https://a/","accessToken":"t"}`) + "\n",
			JFrogServer{ArtifactoryURL: "https://a/", AccessToken: "t"}, ""},
		{"not base64", "not a token!", JFrogServer{}, "not base64"},
		{"not JSON", enc("hello"), JFrogServer{}, "not the JSON"},
		{"no URL", enc(`{"accessToken":"secret-xyz"}`), JFrogServer{}, "no URL"},
		{"refresh token only", enc(`{"url":"https://a/","refreshToken":"secret-xyz"}`), JFrogServer{}, "neither an access token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseConfigToken(tc.token)
			if tc.err != "" {
				if !errors.Is(err, ErrBadConfigToken) || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "secret-xyz") {
					t.Fatalf("error %v, want one wrapping ErrBadConfigToken saying %q, without the secret", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestConfigTokens(t *testing.T) {
	names, values := ConfigTokens([]string{"PATH=/bin", "JF_ENV_1=abc", "JF_ENV_EMPTY=", "JF_ENV_PROD=x=y", "XJF_ENV_2=no", "JF_URL=u"})
	if !slices.Equal(names, []string{"JF_ENV_1", "JF_ENV_PROD"}) || !slices.Equal(values, []string{"abc", "x=y"}) {
		t.Errorf("got %v %v", names, values)
	}
}
