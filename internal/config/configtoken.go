package config

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ConfigTokenPrefix starts the names of the environment variables that hold JFrog CLI config tokens: JF_ENV_1,
// JF_ENV_PROD, ... (setup-jfrog-cli imports every such variable with `jf c import`).
const ConfigTokenPrefix = "JF_ENV_"

// ErrBadConfigToken is wrapped by the error of a config token that cannot be read.
var ErrBadConfigToken = errors.New("not a JFrog CLI config token")

// configToken is the JSON inside a config token, as `jf c export` writes it (jfrog-cli-core
// utils/config/configtoken.go): standard base64 of a JSON object. Version 2 has the platform "url" and the
// "artifactoryUrl"; before it, "url" was the Artifactory URL.
type configToken struct {
	Version        int    `json:"version"`
	URL            string `json:"url"`
	ArtifactoryURL string `json:"artifactoryUrl"`
	User           string `json:"user"`
	Password       string `json:"password"`
	AccessToken    string `json:"accessToken"`
	ServerID       string `json:"serverId"`
}

// ParseConfigToken reads a JFrog CLI config token (`jf c export SERVER`). The URL is the token's artifactoryUrl,
// else its url (artprune tells a JFrog Platform URL from an Artifactory URL by asking). The error never quotes the
// token.
func ParseConfigToken(token string) (JFrogServer, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
	if err != nil {
		return JFrogServer{}, fmt.Errorf("%w: not base64", ErrBadConfigToken)
	}
	var t configToken
	if err := json.Unmarshal(b, &t); err != nil {
		return JFrogServer{}, fmt.Errorf("%w: not the JSON of jf c export", ErrBadConfigToken)
	}
	s := JFrogServer{ID: t.ServerID, ArtifactoryURL: t.ArtifactoryURL, AccessToken: t.AccessToken, User: t.User, Password: t.Password}
	if s.ArtifactoryURL == "" {
		s.ArtifactoryURL = t.URL
	}
	switch {
	case s.ArtifactoryURL == "":
		return JFrogServer{}, fmt.Errorf("%w: it has no URL", ErrBadConfigToken)
	case s.AccessToken == "" && (s.User == "" || s.Password == ""):
		return JFrogServer{}, fmt.Errorf("%w: it has neither an access token nor a user and password (artprune does not use "+
			"refresh tokens or client certificates)", ErrBadConfigToken)
	}
	return s, nil
}

// ConfigTokens returns the names and values of the environment's config token variables (KEY=VALUE entries whose
// key starts with [ConfigTokenPrefix] and whose value is not empty), in the order given.
func ConfigTokens(environ []string) (names, values []string) {
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, ConfigTokenPrefix) && strings.TrimSpace(v) != "" {
			names, values = append(names, k), append(values, v)
		}
	}
	return names, values
}
